import { Alert, Group, Text } from '@mantine/core';
import { useEffect, useRef, type ReactNode } from 'react';
import { useQuery, useSubscription } from 'urql';
import { graphql } from '../graphql';
import { StateBadge } from './StatusBadge';

const TaskQuery = graphql(`
  query Task($id: ID!) {
    provisioningTask(id: $id) {
      id
      action
      status
      error
    }
  }
`);

const TaskUpdated = graphql(`
  subscription TaskUpdated($id: ID!) {
    provisioningTaskUpdated(id: $id) {
      id
      action
      status
      error
    }
  }
`);

const FINAL = new Set(['SUCCEEDED', 'FAILED']);

/** A grant or revoke task's live state: read once, then every change pushed over graphql-ws. */
export function TaskState({ id, onDone }: { id: string; onDone?: (status: string) => void }): ReactNode {
  const [{ data }, refetch] = useQuery({ query: TaskQuery, variables: { id }, requestPolicy: 'network-only' });
  const [live] = useSubscription({ query: TaskUpdated, variables: { id } });
  const fromQuery = data?.provisioningTask;
  const fromEvent = live.data?.provisioningTaskUpdated;
  // The later of the two: an event published before the subscription started is never delivered.
  const task = fromEvent && !(fromQuery && FINAL.has(fromQuery.status) && !FINAL.has(fromEvent.status)) ? fromEvent : fromQuery;
  const status = task?.status;
  useEffect(() => {
    if (!status || FINAL.has(status)) return;
    // Also re-read now and then, so a missed event cannot leave the state stale.
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), 3_000);
    return () => clearInterval(timer);
  }, [status, refetch]);
  const reported = useRef(false);
  useEffect(() => {
    if (!reported.current && (status === 'SUCCEEDED' || status === 'FAILED')) {
      reported.current = true;
      onDone?.(status);
    }
  }, [status, onDone]);
  if (!task) return null;
  return (
    <Alert color={task.status === 'FAILED' ? 'red' : task.status === 'SUCCEEDED' ? 'green' : 'blue'} role="status" data-testid="task-state">
      <Group gap="xs">
        <Text size="sm">{task.action === 'GRANT' ? 'Grant' : 'Revoke'} task:</Text>
        <StateBadge state={task.status} />
        {task.error && <Text size="sm">{task.error}</Text>}
      </Group>
    </Alert>
  );
}
