import { Anchor, Badge, Button, Group, Modal, Select, SimpleGrid, Stack, Switch, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue, useDisclosure } from '@mantine/hooks';
import type { ColumnDef } from '@tanstack/react-table';
import { useCallback, useMemo, useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { ErrorAlert, QueryState } from '../components/QueryState';
import { TaskState } from '../components/TaskState';
import { VirtualTable } from '../components/VirtualTable';
import { graphql, type ResultOf } from '../graphql';
import { canWrite, useMe } from '../me';
import { usePaged } from '../usePaged';
import { secondary, TYPE_LABELS } from './Explore';

const ResourceQuery = graphql(`
  query ResourcePage($id: ID!) {
    resource(id: $id) {
      id
      type
      displayName
      externalId
      profile
      lastSignInAt
      manager {
        id
        displayName
      }
      connector {
        id
        displayName
      }
      entitlements {
        id
        slug
        displayName
        grantable
      }
    }
  }
`);

const Holders = graphql(`
  query Holders($id: ID!, $first: Int, $after: String, $includeInherited: Boolean) {
    entitlement(id: $id) {
      id
      grants(first: $first, after: $after, includeInherited: $includeInherited) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            direct
            expiresAt
            principal {
              id
              type
              displayName
            }
            via {
              id
              displayName
              resource {
                id
                displayName
              }
            }
          }
        }
      }
    }
  }
`);

const Holdings = graphql(`
  query Holdings($id: ID!, $first: Int, $after: String) {
    resource(id: $id) {
      id
      grants(first: $first, after: $after, includeInherited: true) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            direct
            expiresAt
            entitlement {
              id
              displayName
              resource {
                id
                type
                displayName
              }
            }
            via {
              id
              resource {
                id
                displayName
              }
            }
          }
        }
      }
    }
  }
`);

const PrincipalSearch = graphql(`
  query PrincipalSearch($connectorId: ID!, $search: String) {
    resources(connectorId: $connectorId, search: $search, first: 20) {
      edges {
        node {
          id
          type
          displayName
          profile
        }
      }
    }
  }
`);

const Grant = graphql(`
  mutation Grant($input: GrantInput!) {
    grant(input: $input) {
      id
      status
    }
  }
`);

const Revoke = graphql(`
  mutation Revoke($input: RevokeInput!) {
    revoke(input: $input) {
      id
      status
    }
  }
`);

type Holder = NonNullable<ResultOf<typeof Holders>['entitlement']>['grants']['edges'][number]['node'];
type Holding = NonNullable<ResultOf<typeof Holdings>['resource']>['grants']['edges'][number]['node'];
type Entitlement = NonNullable<ResultOf<typeof ResourceQuery>['resource']>['entitlements'][number];

const EXPIRY = [
  { value: '', label: 'Never (permanent)' },
  { value: '3600', label: '1 hour' },
  { value: '28800', label: '8 hours' },
  { value: '86400', label: '1 day' },
  { value: '604800', label: '7 days' },
  { value: '2592000', label: '30 days' },
];

const viaPath = (via: readonly { resource: { displayName: string } }[]) => via.map((v) => v.resource.displayName).join(' → ');

export default function ResourcePage(): ReactNode {
  const { id = '' } = useParams();
  const me = useMe();
  const [{ data, fetching, error }] = useQuery({ query: ResourceQuery, variables: { id } });
  const [selected, setSelected] = useState<string | null>(null);
  const r = data?.resource;
  if (!r) return <QueryState fetching={fetching} error={error} empty emptyText="This object does not exist (any more)." />;
  const profile = (r.profile ?? {}) as Record<string, unknown>;
  const entitlement = r.entitlements.find((e) => e.id === selected) ?? r.entitlements[0] ?? null;
  return (
    <Stack>
      <Group>
        <Title order={2}>{r.displayName}</Title>
        <Badge variant="filled" color="gray.7">
          {TYPE_LABELS[r.type] ?? r.type}
        </Badge>
      </Group>
      <Text size="sm">
        {secondary(r) ? `${secondary(r)} · ` : ''}Graph id {r.externalId} · connector{' '}
        <Link to={`/connectors/${r.connector.id}`}>{r.connector.displayName}</Link>
        {r.manager && (
          <>
            {' '}
            · manager <Link to={`/resources/${r.manager.id}`}>{r.manager.displayName}</Link>
          </>
        )}
        {r.type === 'USER' && ` · last sign-in ${r.lastSignInAt ? new Date(r.lastSignInAt).toLocaleString() : 'never'}`}
        {profile['accountEnabled'] === false && ' · disabled'}
      </Text>
      {r.entitlements.length > 0 && (
        <>
          <Title order={3}>Entitlements</Title>
          <Table aria-label="Entitlements">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Entitlement</Table.Th>
                <Table.Th>Grantable</Table.Th>
                <Table.Th>Holders</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {r.entitlements.map((e) => (
                <Table.Tr key={e.id} bg={entitlement?.id === e.id ? 'var(--mantine-color-indigo-light)' : undefined}>
                  <Table.Td>{e.displayName}</Table.Td>
                  <Table.Td>{e.grantable ? 'yes' : 'no'}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <Button size="xs" variant="default" onClick={() => setSelected(e.id)} aria-pressed={entitlement?.id === e.id}>
                        Show holders of {e.slug}
                      </Button>
                      <Button size="xs" variant="subtle" component={Link} to={`/policies?connector=${r.connector.id}&entitlement=${e.id}`}>
                        Policy of {e.slug}
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {entitlement && <HoldersOf key={entitlement.id} entitlement={entitlement} connectorId={r.connector.id} writer={canWrite(me)} />}
        </>
      )}
      <EffectiveAccess id={r.id} />
    </Stack>
  );
}

function HoldersOf({ entitlement, connectorId, writer }: { entitlement: Entitlement; connectorId: string; writer: boolean }): ReactNode {
  const [inherited, setInherited] = useState(true);
  const [task, setTask] = useState<string | null>(null);
  const paged = usePaged(Holders, { id: entitlement.id, includeInherited: inherited }, (d) => d.entitlement?.grants, 100);
  const { reload } = paged;
  const onDone = useCallback(() => reload(), [reload]);
  const columns = useMemo<ColumnDef<Holder, unknown>[]>(
    () => [
      {
        header: 'Holder',
        id: 'principal',
        cell: (c) => <Link to={`/resources/${c.row.original.principal.id}`}>{c.row.original.principal.displayName}</Link>,
      },
      { header: 'Kind', id: 'type', cell: (c) => TYPE_LABELS[c.row.original.principal.type] ?? c.row.original.principal.type },
      { header: 'Access', id: 'direct', cell: (c) => (c.row.original.direct ? 'direct' : `inherited via ${viaPath(c.row.original.via)}`) },
      {
        header: 'Expires',
        id: 'expires',
        cell: (c) => (c.row.original.expiresAt ? new Date(c.row.original.expiresAt).toLocaleString() : '—'),
      },
      ...(writer && entitlement.grantable
        ? [
            {
              header: 'Actions',
              id: 'actions',
              cell: (c: { row: { original: Holder } }) =>
                c.row.original.direct ? (
                  <RevokeButton entitlement={entitlement} principal={c.row.original.principal} onTask={setTask} />
                ) : null,
            } satisfies ColumnDef<Holder, unknown>,
          ]
        : []),
    ],
    [writer, entitlement],
  );
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Holders of {entitlement.displayName}</Title>
        <Group>
          <Switch label="Include inherited access" checked={inherited} onChange={(e) => setInherited(e.currentTarget.checked)} />
          {writer && entitlement.grantable && <GrantButton entitlement={entitlement} connectorId={connectorId} onTask={setTask} />}
        </Group>
      </Group>
      {task && <TaskState key={task} id={task} onDone={onDone} />}
      <VirtualTable label="Holders" paged={paged} columns={columns} rowKey={(g) => g.id} emptyText="Nobody holds this." height={420} />
    </Stack>
  );
}

function GrantButton({
  entitlement,
  connectorId,
  onTask,
}: {
  entitlement: Entitlement;
  connectorId: string;
  onTask: (id: string) => void;
}): ReactNode {
  const [opened, { open, close }] = useDisclosure(false);
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search, 250);
  const [principal, setPrincipal] = useState<string | null>(null);
  const [expiry, setExpiry] = useState<string>('3600');
  const [reason, setReason] = useState('');
  const [{ data }] = useQuery({ query: PrincipalSearch, variables: { connectorId, search: debounced || null }, pause: !opened });
  const options = (data?.resources.edges ?? [])
    .filter(
      (e) =>
        e.node.type === 'USER' || e.node.type === 'GROUP' || e.node.type === 'MANAGED_IDENTITY' || e.node.type === 'ENTERPRISE_APPLICATION',
    )
    .map((e) => ({ value: e.node.id, label: `${e.node.displayName}${secondary(e.node) ? ` (${secondary(e.node)})` : ''}` }));
  const [state, grant] = useMutation(Grant);
  async function submit() {
    if (!principal) return;
    const r = await grant({
      input: {
        entitlementId: entitlement.id,
        principalId: principal,
        ...(expiry ? { expiresAt: new Date(Date.now() + Number(expiry) * 1000).toISOString() } : {}),
        ...(reason.trim() ? { reason: reason.trim() } : {}),
        idempotencyKey: crypto.randomUUID(),
      },
    });
    if (r.data) {
      onTask(r.data.grant.id);
      close();
      setPrincipal(null);
      setSearch('');
    }
  }
  return (
    <>
      <Button onClick={open}>Grant</Button>
      <Modal opened={opened} onClose={close} title={`Grant ${entitlement.displayName}`}>
        <Stack>
          <Select
            label="Principal"
            placeholder="Type to search users and groups"
            searchable
            searchValue={search}
            onSearchChange={setSearch}
            data={options}
            value={principal}
            onChange={setPrincipal}
            filter={({ options: o }) => o}
            nothingFoundMessage={debounced ? 'No match' : 'Type a name'}
            required
          />
          <Select label="Expires" data={EXPIRY} value={expiry} onChange={(v) => setExpiry(v ?? '')} allowDeselect={false} />
          <TextInput label="Reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
          <ErrorAlert error={state.error} title="Not granted" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button onClick={() => void submit()} disabled={!principal} loading={state.fetching}>
              Grant access
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

function RevokeButton({
  entitlement,
  principal,
  onTask,
}: {
  entitlement: Entitlement;
  principal: { id: string; displayName: string };
  onTask: (id: string) => void;
}): ReactNode {
  const [opened, { open, close }] = useDisclosure(false);
  const [reason, setReason] = useState('');
  const [state, revoke] = useMutation(Revoke);
  async function submit() {
    const r = await revoke({
      input: {
        entitlementId: entitlement.id,
        principalId: principal.id,
        ...(reason.trim() ? { reason: reason.trim() } : {}),
        idempotencyKey: crypto.randomUUID(),
      },
    });
    if (r.data) {
      onTask(r.data.revoke.id);
      close();
    }
  }
  return (
    <>
      <Button size="xs" color="red" variant="outline" onClick={(e) => (e.stopPropagation(), open())}>
        Revoke
      </Button>
      <Modal opened={opened} onClose={close} title={`Revoke ${entitlement.displayName} from ${principal.displayName}?`}>
        <Stack>
          <TextInput label="Reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
          <ErrorAlert error={state.error} title="Not revoked" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="red" onClick={() => void submit()} loading={state.fetching}>
              Revoke access
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

function EffectiveAccess({ id }: { id: string }): ReactNode {
  const paged = usePaged(Holdings, { id }, (d) => d.resource?.grants, 100);
  const columns = useMemo<ColumnDef<Holding, unknown>[]>(
    () => [
      {
        header: 'Resource',
        id: 'resource',
        cell: (c) => (
          <Anchor component={Link} to={`/resources/${c.row.original.entitlement.resource.id}`}>
            {c.row.original.entitlement.resource.displayName}
          </Anchor>
        ),
      },
      { header: 'Entitlement', id: 'entitlement', cell: (c) => c.row.original.entitlement.displayName },
      { header: 'Access', id: 'direct', cell: (c) => (c.row.original.direct ? 'direct' : `inherited via ${viaPath(c.row.original.via)}`) },
      {
        header: 'Expires',
        id: 'expires',
        cell: (c) => (c.row.original.expiresAt ? new Date(c.row.original.expiresAt).toLocaleString() : '—'),
      },
    ],
    [],
  );
  return (
    <Stack>
      <Title order={3}>Effective access</Title>
      <SimpleGrid cols={1}>
        <VirtualTable
          label="Effective access"
          paged={paged}
          columns={columns}
          rowKey={(g) => g.id}
          emptyText="Holds nothing."
          height={420}
        />
      </SimpleGrid>
    </Stack>
  );
}
