import { Group, SegmentedControl, Select, Stack, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState, type ReactNode } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useQuery } from 'urql';
import { QueryState } from '../components/QueryState';
import { VirtualTable } from '../components/VirtualTable';
import { graphql, type ResultOf } from '../graphql';
import { usePaged } from '../usePaged';

export const ConnectorChoices = graphql(`
  query ConnectorChoices {
    connectors(first: 200) {
      edges {
        node {
          id
          displayName
        }
      }
    }
  }
`);

const SearchResources = graphql(`
  query SearchResources($connectorId: ID!, $type: ResourceType, $search: String, $first: Int, $after: String) {
    resources(connectorId: $connectorId, type: $type, search: $search, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          type
          displayName
          externalId
          profile
        }
      }
    }
  }
`);

type Row = ResultOf<typeof SearchResources>['resources']['edges'][number]['node'];

export const TYPE_LABELS: Record<string, string> = {
  USER: 'Users',
  GROUP: 'Groups',
  ENTERPRISE_APPLICATION: 'Apps',
  DIRECTORY_ROLE: 'Roles',
  MANAGED_IDENTITY: 'Managed identities',
};

export function secondary(r: { type: string; profile: unknown }): string {
  const p = (r.profile ?? {}) as Record<string, unknown>;
  const v = p['userPrincipalName'] ?? p['mail'] ?? p['description'] ?? '';
  return typeof v === 'string' ? v : '';
}

/** Connector choice shared by Explore and Audit; the first connector is the default. */
export function useConnectorChoice(param: string | null): {
  options: { value: string; label: string }[];
  fetching: boolean;
  chosen: string | null;
} {
  const [{ data, fetching }] = useQuery({ query: ConnectorChoices });
  const options = useMemo(() => data?.connectors.edges.map((e) => ({ value: e.node.id, label: e.node.displayName })) ?? [], [data]);
  return { options, fetching, chosen: param ?? options[0]?.value ?? null };
}

export default function ExplorePage(): ReactNode {
  const [params, setParams] = useSearchParams();
  const { options, fetching, chosen } = useConnectorChoice(params.get('connector'));
  const [type, setType] = useState(params.get('type') ?? 'USER');
  const [search, setSearch] = useState(params.get('q') ?? '');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const navigate = useNavigate();
  const paged = usePaged(
    SearchResources,
    chosen ? { connectorId: chosen, type: type as Row['type'], search: debounced || null } : null,
    (d) => d.resources,
    100,
  );
  const columns = useMemo<ColumnDef<Row, unknown>[]>(
    () => [
      {
        header: 'Name',
        accessorKey: 'displayName',
        cell: (c) => <Link to={`/resources/${c.row.original.id}`}>{c.row.original.displayName}</Link>,
      },
      { header: 'Sign-in name / mail', id: 'secondary', cell: (c) => secondary(c.row.original) },
      { header: 'Graph id', accessorKey: 'externalId' },
    ],
    [],
  );
  return (
    <Stack>
      <Title order={2}>Explore</Title>
      <Group align="end" wrap="wrap">
        <Select
          label="Connector"
          data={options}
          value={chosen}
          onChange={(v) => v && setParams({ connector: v }, { replace: true })}
          allowDeselect={false}
          w={240}
        />
        <SegmentedControl
          aria-label="Kind of object"
          value={type}
          onChange={setType}
          data={Object.entries(TYPE_LABELS).map(([value, label]) => ({ value, label }))}
        />
      </Group>
      <TextInput
        label="Search"
        placeholder="Name, sign-in name or mail"
        value={search}
        onChange={(e) => setSearch(e.currentTarget.value)}
        data-testid="explore-search"
      />
      {chosen ? (
        <VirtualTable
          label="Search results"
          paged={paged}
          columns={columns}
          rowKey={(r) => r.id}
          emptyText={debounced ? `Nothing matches “${debounced}”.` : 'Nothing of this kind in this tenant.'}
          onRowClick={(r) => void navigate(`/resources/${r.id}`)}
        />
      ) : (
        <QueryState fetching={fetching} empty emptyText="No connectors yet: add one first." />
      )}
    </Stack>
  );
}
