import { Anchor, Button, Group, Select, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery, useSubscription } from 'urql';
import { ErrorAlert, QueryState } from '../components/QueryState';
import { StateBadge } from '../components/StatusBadge';
import { graphql, type ResultOf } from '../graphql';
import { isStaff, useMe } from '../me';

export const RequestFields = graphql(`
  fragment RequestFields on AccessRequest @_unmask {
    id
    status
    requestedBy
    justification
    durationSeconds
    expiresAt
    createdAt
    updatedAt
    currentStep
    connector {
      id
      displayName
    }
    entitlement {
      id
      displayName
    }
    principal {
      id
      displayName
    }
    approvers {
      displayName
    }
    decisions {
      step
      actor
      approved
      comment
      at
    }
    provisioningTask {
      id
      status
      error
    }
  }
`);

const MyRequests = graphql(
  `
    query MyRequests {
      accessRequests(mine: true, first: 100) {
        totalCount
        edges {
          node {
            ...RequestFields
          }
        }
      }
    }
  `,
  [RequestFields],
);

const RequestUpdated = graphql(
  `
    subscription RequestUpdated($id: ID!) {
      accessRequestUpdated(id: $id) {
        ...RequestFields
      }
    }
  `,
  [RequestFields],
);

const Catalog = graphql(`
  query Catalog($search: String) {
    requestableEntitlements(search: $search, first: 30) {
      entitlement {
        id
        displayName
      }
      connector {
        id
        displayName
      }
      maxDurationSeconds
      requireDuration
      approvalSteps
    }
  }
`);

const RequestAccess = graphql(
  `
    mutation RequestAccess($input: AccessRequestInput!) {
      requestAccess(input: $input) {
        ...RequestFields
      }
    }
  `,
  [RequestFields],
);

const CancelRequest = graphql(`
  mutation CancelRequest($id: ID!) {
    cancelAccessRequest(id: $id) {
      id
      status
    }
  }
`);

export type Request = ResultOf<typeof RequestFields>;

const DURATIONS = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 28_800, label: '8 hours' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 604_800, label: '7 days' },
  { seconds: 2_592_000, label: '30 days' },
  { seconds: 7_776_000, label: '90 days' },
];

export const durationText = (s: number | null | undefined) =>
  s == null ? 'permanent' : (DURATIONS.find((d) => d.seconds === s)?.label ?? `${Math.round(s / 3600)} h`);

const FINAL = new Set(['DENIED', 'CANCELLED', 'ACTIVE', 'FAILED', 'EXPIRED']);

/** One request's row; open requests follow their state live (accessRequestUpdated). */
function RequestRow({ request }: { request: Request }): ReactNode {
  const [live] = useSubscription({ query: RequestUpdated, variables: { id: request.id }, pause: FINAL.has(request.status) });
  const event = live.data?.accessRequestUpdated;
  // The later of the two: the list's re-read may be newer than the last event.
  const r = event && new Date(event.updatedAt) >= new Date(request.updatedAt) ? event : request;
  const [cancelState, cancel] = useMutation(CancelRequest);
  return (
    <Table.Tr data-testid={`request-${r.entitlement.displayName}`}>
      <Table.Td>{r.entitlement.displayName}</Table.Td>
      <Table.Td>{r.principal.displayName}</Table.Td>
      <Table.Td>{durationText(r.durationSeconds)}</Table.Td>
      <Table.Td>
        <StateBadge state={r.status} />
        {r.provisioningTask?.error && (
          <Text size="xs" c="red.9">
            {r.provisioningTask.error}
          </Text>
        )}
      </Table.Td>
      <Table.Td>
        {r.status === 'PENDING' ? `waiting for ${r.approvers.map((a) => a.displayName).join(', ') || 'a decider'}` : ''}
        {r.decisions.map((d) => (
          <Text size="xs" key={`${d.step}-${d.at}`}>
            {d.approved ? 'approved' : 'denied'} by {d.actor}
            {d.comment ? `: “${d.comment}”` : ''}
          </Text>
        ))}
      </Table.Td>
      <Table.Td>{r.expiresAt ? new Date(r.expiresAt).toLocaleString() : '—'}</Table.Td>
      <Table.Td>
        {r.status === 'PENDING' && (
          <Button size="xs" variant="default" loading={cancelState.fetching} onClick={() => void cancel({ id: r.id })}>
            Cancel
          </Button>
        )}
        <ErrorAlert error={cancelState.error} />
      </Table.Td>
    </Table.Tr>
  );
}

export default function MyAccessPage(): ReactNode {
  const me = useMe();
  const [{ data, fetching, error }, refetch] = useQuery({ query: MyRequests, requestPolicy: 'cache-and-network' });
  const requests = data?.accessRequests.edges.map((e) => e.node) ?? [];
  const active = requests.filter((r) => r.status === 'ACTIVE');
  const open = requests.some((r) => !FINAL.has(r.status));
  useEffect(() => {
    if (!open) return;
    // Rows follow their requests' events; this re-read also catches one published before a row subscribed.
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), 5_000);
    return () => clearInterval(timer);
  }, [open, refetch]);
  return (
    <Stack>
      <Title order={2}>My access</Title>
      <Text>
        {me.identities.length > 0
          ? `You are ${[...new Set(me.identities.map((i) => i.displayName))].join(', ')} in the tenants Warden syncs.`
          : 'No connector syncs your tenant yet, so you cannot request access.'}{' '}
        {isStaff(me) &&
          me.identities.map((i) => (
            <Anchor key={i.id} component={Link} to={`/resources/${i.id}`} mr="sm">
              Everything {i.displayName} holds
            </Anchor>
          ))}
      </Text>
      <Title order={3}>What I hold through requests</Title>
      <QueryState fetching={fetching} error={error} empty={active.length === 0} emptyText="Nothing granted through a request yet.">
        <Table aria-label="Access I hold" data-testid="held">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Entitlement</Table.Th>
              <Table.Th>Tenant</Table.Th>
              <Table.Th>Until</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {active.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td>{r.entitlement.displayName}</Table.Td>
                <Table.Td>{r.connector.displayName}</Table.Td>
                <Table.Td>{r.expiresAt ? new Date(r.expiresAt).toLocaleString() : 'permanent'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </QueryState>
      {me.identities.length > 0 && <RequestForm onRequested={() => refetch({ requestPolicy: 'network-only' })} />}
      <Title order={3}>My requests</Title>
      <QueryState fetching={fetching} error={error} empty={requests.length === 0} emptyText="You have not requested anything yet.">
        <Table.ScrollContainer minWidth={800}>
          <Table aria-label="My requests">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Entitlement</Table.Th>
                <Table.Th>For</Table.Th>
                <Table.Th>Duration</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Decisions</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {requests.map((r) => (
                <RequestRow key={r.id} request={r} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </QueryState>
    </Stack>
  );
}

function RequestForm({ onRequested }: { onRequested: () => void }): ReactNode {
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search, 250);
  const [{ data, error }] = useQuery({ query: Catalog, variables: { search: debounced || null }, requestPolicy: 'cache-and-network' });
  const [chosen, setChosen] = useState<string | null>(null);
  const [justification, setJustification] = useState('');
  const [duration, setDuration] = useState<string | null>(null);
  const [state, request] = useMutation(RequestAccess);
  const items = useMemo(() => data?.requestableEntitlements ?? [], [data]);
  const [picked, setPicked] = useState<(typeof items)[number] | null>(null);
  useEffect(() => {
    const found = items.find((i) => i.entitlement.id === chosen);
    if (found) setPicked(found);
  }, [items, chosen]);
  const options = items.map((i) => ({
    value: i.entitlement.id,
    label: `${i.entitlement.displayName} (${i.connector.displayName})`,
  }));
  if (picked && !options.some((o) => o.value === picked.entitlement.id))
    options.unshift({ value: picked.entitlement.id, label: `${picked.entitlement.displayName} (${picked.connector.displayName})` });
  const durations = [
    ...(picked && !picked.requireDuration ? [{ value: 'permanent', label: 'Permanent' }] : []),
    ...DURATIONS.filter((d) => !picked || picked.maxDurationSeconds === null || d.seconds <= picked.maxDurationSeconds).map((d) => ({
      value: String(d.seconds),
      label: d.label,
    })),
  ];
  async function submit() {
    if (!picked || !duration) return;
    const r = await request({
      input: {
        entitlementId: picked.entitlement.id,
        justification: justification.trim(),
        ...(duration === 'permanent' ? {} : { durationSeconds: Number(duration) }),
        idempotencyKey: crypto.randomUUID(),
      },
    });
    if (r.data) {
      notifications.show({ message: `Requested ${picked.entitlement.displayName}`, color: 'green' });
      setChosen(null);
      setPicked(null);
      setJustification('');
      setDuration(null);
      setSearch('');
      onRequested();
    }
  }
  return (
    <Stack maw={720}>
      <Title order={3}>Request access</Title>
      <ErrorAlert error={error} />
      <Select
        label="Entitlement"
        placeholder="Type to search what you may request"
        searchable
        searchValue={search}
        onSearchChange={setSearch}
        filter={({ options: o }) => o}
        data={options}
        value={chosen}
        onChange={(v) => {
          setChosen(v);
          setDuration(null);
        }}
        nothingFoundMessage={debounced ? 'Nothing requestable matches' : 'Type a name'}
        required
      />
      {picked && (
        <Text size="sm">
          {picked.approvalSteps === 0
            ? 'Approved at once.'
            : `${picked.approvalSteps} approval step${picked.approvalSteps > 1 ? 's' : ''}.`}{' '}
          {picked.maxDurationSeconds !== null ? `At most ${durationText(picked.maxDurationSeconds)}.` : ''}
          {picked.requireDuration ? ' A duration is required.' : ''}
        </Text>
      )}
      <Select label="Duration" data={durations} value={duration} onChange={setDuration} disabled={!picked} required allowDeselect={false} />
      <Textarea
        label="Justification"
        description="Why you need it; your approvers read this"
        value={justification}
        onChange={(e) => setJustification(e.currentTarget.value)}
        required
        autosize
        minRows={2}
      />
      <ErrorAlert error={state.error} title="Not requested" />
      <Group>
        <Button onClick={() => void submit()} disabled={!picked || !duration || justification.trim() === ''} loading={state.fetching}>
          Request access
        </Button>
      </Group>
    </Stack>
  );
}
