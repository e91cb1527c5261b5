import { Badge } from '@mantine/core';
import type { ReactNode } from 'react';

const CONNECTOR: Record<string, { label: string; color: string }> = {
  NOT_CONNECTED: { label: 'Not connected', color: 'gray' },
  SYNCING: { label: 'Syncing', color: 'blue' },
  CONNECTED: { label: 'Connected', color: 'green' },
  ERROR: { label: 'Error', color: 'red' },
};

const RUN: Record<string, string> = {
  QUEUED: 'gray',
  PENDING: 'gray',
  RUNNING: 'blue',
  SUCCEEDED: 'green',
  FAILED: 'red',
  CANCELLED: 'gray',
  INFO: 'blue',
  WARN: 'yellow',
  ERROR: 'red',
};

/** Filled badges: their text keeps enough contrast on every color (axe's color-contrast rule). */
export function ConnectorStatusBadge({ status }: { status: string }): ReactNode {
  const s = CONNECTOR[status] ?? { label: status, color: 'gray' };
  return (
    <Badge color={s.color} variant="filled" autoContrast data-testid="connector-status">
      {s.label}
    </Badge>
  );
}

export function StateBadge({ state }: { state: string }): ReactNode {
  return (
    <Badge color={RUN[state] ?? 'gray'} variant="filled" autoContrast>
      {state.charAt(0) + state.slice(1).toLowerCase()}
    </Badge>
  );
}
