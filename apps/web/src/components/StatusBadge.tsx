import { Badge } from '@mantine/core';
import type { ReactNode } from 'react';

const CONNECTOR: Record<string, { label: string; color: string }> = {
  NOT_CONNECTED: { label: 'Not connected', color: 'gray.7' },
  SYNCING: { label: 'Syncing', color: 'blue.8' },
  CONNECTED: { label: 'Connected', color: 'teal.9' },
  ERROR: { label: 'Error', color: 'red.9' },
};

const RUN: Record<string, string> = {
  QUEUED: 'gray.7',
  PENDING: 'gray.7',
  RUNNING: 'blue.8',
  SUCCEEDED: 'teal.9',
  FAILED: 'red.9',
  CANCELLED: 'gray.7',
  INFO: 'blue.8',
  WARN: 'yellow.4',
  ERROR: 'red.9',
};

/** Filled badges: their text keeps enough contrast on every color (axe's color-contrast rule). */
export function ConnectorStatusBadge({ status }: { status: string }): ReactNode {
  const s = CONNECTOR[status] ?? { label: status, color: 'gray.7' };
  return (
    <Badge color={s.color} variant="filled" autoContrast data-testid="connector-status" style={{ minWidth: 'max-content' }}>
      {s.label}
    </Badge>
  );
}

export function StateBadge({ state }: { state: string }): ReactNode {
  return (
    <Badge color={RUN[state] ?? 'gray.7'} variant="filled" autoContrast style={{ minWidth: 'max-content' }}>
      {state.charAt(0) + state.slice(1).toLowerCase()}
    </Badge>
  );
}
