import { Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useCallback, useEffect, type ReactNode } from 'react';
import { Link } from 'react-router';
import { useQuery, useSubscription } from 'urql';
import { ConnectorStatusBadge } from '../components/StatusBadge';
import { QueryState } from '../components/QueryState';
import { graphql } from '../graphql';
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

/** Re-reads the connectors whenever one of their sync runs changes (the status follows the run). */
export function LiveConnector({ id, onChange }: { id: string; onChange: () => void }): null {
  const [{ data }] = useSubscription({ query: SyncRunUpdated, variables: { connectorId: id } });
  const key = data ? `${data.syncRunUpdated.id}:${data.syncRunUpdated.status}` : '';
  useEffect(() => {
    if (key) onChange();
  }, [key, onChange]);
  return null;
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
      {rows.map((c) => (
        <LiveConnector key={c.id} id={c.id} onChange={reload} />
      ))}
      <QueryState fetching={fetching} error={error} empty={rows.length === 0} emptyText="No connectors yet. Add one to start syncing a tenant.">
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
                <Table.Tr key={c.id} data-testid={`connector-${c.displayName}`}>
                  <Table.Td>
                    <Link to={`/connectors/${c.id}`}>{c.displayName}</Link>
                  </Table.Td>
                  <Table.Td>
                    <ConnectorStatusBadge status={c.status} />
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
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </QueryState>
    </Stack>
  );
}
