import { Button, Code, Group, Select, Stack, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState, type ReactNode } from 'react';
import { VirtualTable } from '../components/VirtualTable';
import { graphql, type ResultOf } from '../graphql';
import { usePaged } from '../usePaged';
import { useConnectorChoice } from './Explore';

const AuditEvents = graphql(`
  query AuditEvents($first: Int, $after: String, $connectorId: ID, $actor: String, $action: String, $since: DateTime, $until: DateTime) {
    auditEvents(first: $first, after: $after, connectorId: $connectorId, actor: $actor, action: $action, since: $since, until: $until) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          at
          actor
          action
          details
          connector {
            id
            displayName
          }
        }
      }
    }
  }
`);

type Row = ResultOf<typeof AuditEvents>['auditEvents']['edges'][number]['node'];

/** A datetime-local value (the reader's time zone) as an ISO instant, or null. */
const instant = (local: string): string | null => (local ? new Date(local).toISOString() : null);

export default function AuditPage(): ReactNode {
  const { options } = useConnectorChoice(null);
  const [connectorId, setConnector] = useState<string | null>(null);
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [filter] = useDebouncedValue(
    { connectorId, actor: actor.trim() || null, action: action.trim() || null, since: instant(since), until: instant(until) },
    300,
  );
  const paged = usePaged(AuditEvents, filter, (d) => d.auditEvents, 500);
  const exportUrl = `/audit/export.csv?${new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === 'string')).toString()}`;
  const columns = useMemo<ColumnDef<Row, unknown>[]>(
    () => [
      { header: 'Time', id: 'at', cell: (c) => new Date(c.row.original.at).toLocaleString() },
      { header: 'Actor', accessorKey: 'actor' },
      { header: 'Action', accessorKey: 'action' },
      { header: 'Connector', id: 'connector', cell: (c) => c.row.original.connector?.displayName ?? '—' },
      {
        header: 'Details',
        id: 'details',
        cell: (c) => (
          <Code style={{ whiteSpace: 'nowrap', maxWidth: 420, overflow: 'hidden', textOverflow: 'ellipsis', display: 'block' }}>
            {JSON.stringify(c.row.original.details)}
          </Code>
        ),
      },
    ],
    [],
  );
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Audit log</Title>
        <Button component="a" href={exportUrl} download variant="default" data-testid="audit-export">
          Export CSV
        </Button>
      </Group>
      <Group align="end" wrap="wrap">
        <Select
          label="Connector"
          placeholder="All connectors"
          data={options}
          value={connectorId}
          onChange={setConnector}
          clearable
          w={220}
        />
        <TextInput label="Actor" placeholder="Subject, or system" value={actor} onChange={(e) => setActor(e.currentTarget.value)} />
        <TextInput
          label="Action"
          placeholder="e.g. grant.succeeded or grant."
          value={action}
          onChange={(e) => setAction(e.currentTarget.value)}
        />
        <TextInput label="From" type="datetime-local" value={since} onChange={(e) => setSince(e.currentTarget.value)} />
        <TextInput label="Until" type="datetime-local" value={until} onChange={(e) => setUntil(e.currentTarget.value)} />
      </Group>
      <VirtualTable label="Audit events" paged={paged} columns={columns} rowKey={(r) => r.id} emptyText="No audit events match." />
    </Stack>
  );
}
