import { Alert, Button, Center, Paper, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

const AUTH_ERRORS: Record<string, string> = {
  login_required: 'You are not signed in at your identity provider. Sign in to continue.',
  access_denied: 'The sign-in was cancelled or refused.',
  interaction_required: 'Your identity provider needs you to sign in again.',
};

/** Shown when there is no session: the gateway's /auth/login runs the sign-in and brings the person back here. */
export function SignInPage(): ReactNode {
  const params = new URLSearchParams(location.search);
  const authError = params.get('auth_error');
  params.delete('auth_error');
  const rest = params.toString();
  const returnTo = `${location.pathname}${rest ? `?${rest}` : ''}`;
  return (
    <Center mih="100vh" p="md">
      <main>
        <Paper withBorder shadow="sm" p="xl" maw={420}>
          <Stack>
            <Title order={1} size="h2">
              Warden
            </Title>
            <Text>Identity governance for Microsoft Entra ID. Sign in with your organization account.</Text>
            {authError && (
              <Alert color="red" title="Sign-in did not complete" role="alert">
                {AUTH_ERRORS[authError] ?? `The identity provider answered: ${authError}`}
              </Alert>
            )}
            <Button component="a" href={`/auth/login?returnTo=${encodeURIComponent(returnTo)}`} size="md">
              Sign in with Microsoft Entra ID
            </Button>
          </Stack>
        </Paper>
      </main>
    </Center>
  );
}
