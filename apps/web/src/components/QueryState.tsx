import { Alert, Center, Loader, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { humanError } from '../errors';

/** The loading, error and empty states every list and page shows the same way. */
export function QueryState(props: {
  fetching: boolean;
  error?: CombinedError | undefined;
  empty?: boolean;
  emptyText?: string;
  children?: ReactNode;
}): ReactNode {
  if (props.error) return <ErrorAlert error={props.error} />;
  if (props.fetching && (props.empty ?? true))
    return (
      <Center p="lg">
        <Loader aria-label="Loading" size="sm" />
      </Center>
    );
  if (props.empty)
    return (
      <Text c="dimmed" p="md">
        {props.emptyText ?? 'Nothing here yet.'}
      </Text>
    );
  return props.children ?? null;
}

export function ErrorAlert({ error, title }: { error: CombinedError | undefined | string; title?: string }): ReactNode {
  if (!error) return null;
  return (
    <Alert color="red" title={title ?? 'Could not complete this'} role="alert">
      {typeof error === 'string' ? error : humanError(error)}
    </Alert>
  );
}
