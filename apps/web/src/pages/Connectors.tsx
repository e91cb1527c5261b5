import { Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, type ReactNode } from 'react';
import { Link } from 'react-router';
import { useQuery, useSubscription } from 'urql';
import { ConnectorStatusBadge } from '../components/StatusBadge';
import { QueryState } from '../components/QueryState';
import { graphql, type ResultOf } from '../graphql';
import { canWrite, useMe } from '../me';

export const ConnectorsQuery = graphql(`
  query Connectors {
    connectors(first: 200) {
      totalCount
      edges {
        node {
          id
          displayName
          status
          statusMessage
          authMethod
          tenantId
          missingPermissions
          lastSyncRun {
            id
            status
            progress
            finishedAt
          }
        }
      }
    }
  }
`);

export const SyncRunUpdated = graphql(`
  subscription SyncRunUpdated($connectorId: ID!) {
    syncRunUpdated(connectorId: $connectorId) {
      id
      mode
      status
      progress
      error
      queuedAt
      startedAt
      finishedAt
      stats {
        users
        managedIdentities
        groups
        enterpriseApplications
        directoryRoles
        grants
        graphRequests
        throttledRequests
      }
    }
  }
`);

export const TriggerSync = graphql(`
  mutation TriggerSync($connectorId: ID!, $mode: SyncMode!) {
    triggerSync(connectorId: $connectorId, mode: $mode) {
      id
      status
    }
  }
`);

const active = (status: string | undefined): boolean => status === 'QUEUED' || status === 'RUNNING';

/**
 * A connector's live status: the sync run events of graphql-ws (a running run means Syncing at
 * once), and a re-read of the connector when a run starts or ends (the status the worker recorded).
 * The last run read with the connector counts too, and is re-read every 2 s while it is unfinished:
 * a small tenant can sync before the subscription is listening, and its events are then never seen.
 */
export function useLiveStatus(
  connectorId: string,
  status: string,
  lastRun: { id: string; status: string } | null | undefined,
  reload: () => void,
): string {
  const [{ data }] = useSubscription({ query: SyncRunUpdated, variables: { connectorId } });
  const run = data?.syncRunUpdated;
  const key = run ? `${run.id}:${run.status}` : '';
  useEffect(() => {
    if (key) reload();
  }, [key, reload]);
  const queriedActive = active(lastRun?.status) && !(run && run.id === lastRun?.id && !active(run.status));
  useEffect(() => {
    if (!queriedActive) return;
    const timer = setInterval(reload, 2_000);
    return () => clearInterval(timer);
  }, [queriedActive, reload]);
  return active(run?.status) || queriedActive ? 'SYNCING' : status;
}

type Row = ResultOf<typeof ConnectorsQuery>['connectors']['edges'][number]['node'];

function ConnectorRow({ c, reload }: { c: Row; reload: () => void }): ReactNode {
  const status = useLiveStatus(c.id, c.status, c.lastSyncRun, reload);
  return (
    <Table.Tr data-testid={`connector-${c.displayName}`}>
      <Table.Td>
        <Link to={`/connectors/${c.id}`}>{c.displayName}</Link>
      </Table.Td>
      <Table.Td>
        <ConnectorStatusBadge status={status} />
      </Table.Td>
      <Table.Td>{c.authMethod.replace('_', ' ').toLowerCase()}</Table.Td>
      <Table.Td>
        {c.lastSyncRun ? (
          <Text size="sm">
            {c.lastSyncRun.status.toLowerCase()}
            {c.lastSyncRun.progress ? ` · ${c.lastSyncRun.progress}` : ''}
          </Text>
        ) : (
          <Text size="sm">never</Text>
        )}
      </Table.Td>
      <Table.Td>{c.missingPermissions.length === 0 ? 'none' : c.missingPermissions.length}</Table.Td>
    </Table.Tr>
  );
}

export function ConnectorsPage(): ReactNode {
  const me = useMe();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ConnectorsQuery });
  const rows = data?.connectors.edges.map((e) => e.node) ?? [];
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Connectors</Title>
        {canWrite(me) && (
          <Button component={Link} to="/connectors/new">
            Add connector
          </Button>
        )}
      </Group>
      <QueryState
        fetching={fetching}
        error={error}
        empty={rows.length === 0}
        emptyText="No connectors yet. Add one to start syncing a tenant."
      >
        <Table.ScrollContainer minWidth={640}>
          <Table highlightOnHover aria-label="Connectors">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Method</Table.Th>
                <Table.Th>Last sync</Table.Th>
                <Table.Th>Missing permissions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((c) => (
                <ConnectorRow key={c.id} c={c} reload={reload} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </QueryState>
    </Stack>
  );
}
