import { Button, Code, CopyButton, Group, List, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/** Missing Graph permissions of one set, with a button that copies them one per line. */
export function MissingPermissions({
  title,
  permissions,
  okText,
}: {
  title: string;
  permissions: readonly string[];
  okText: string;
}): ReactNode {
  const id = `perm-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <Stack gap={4} data-testid={id}>
      <Group justify="space-between">
        <Title order={4} id={id}>
          {title}
        </Title>
        {permissions.length > 0 && (
          <CopyButton value={permissions.join('\n')}>
            {({ copied, copy }) => (
              <Button size="xs" variant="default" onClick={copy} aria-label={`Copy the missing ${title.toLowerCase()}`}>
                {copied ? 'Copied' : 'Copy list'}
              </Button>
            )}
          </CopyButton>
        )}
      </Group>
      {permissions.length === 0 ? (
        <Text size="sm">{okText}</Text>
      ) : (
        <List size="sm" aria-labelledby={id}>
          {permissions.map((p) => (
            <List.Item key={p}>
              <Code>{p}</Code>
            </List.Item>
          ))}
        </List>
      )}
    </Stack>
  );
}
