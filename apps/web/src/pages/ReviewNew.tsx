import {
  Button,
  Group,
  MultiSelect,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  TagsInput,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMemo, useRef, useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { ErrorAlert } from '../components/QueryState';
import { graphql, type VariablesOf } from '../graphql';
import { canWrite, useMe } from '../me';
import { useConnectorChoice } from './Explore';

const EntitlementSearch = graphql(`
  query EntitlementSearch($connectorId: ID!, $search: String) {
    resources(connectorId: $connectorId, search: $search, first: 20) {
      edges {
        node {
          id
          type
          displayName
          entitlements {
            id
            displayName
            grantable
          }
        }
      }
    }
  }
`);

const CreateReview = graphql(`
  mutation CreateReview($input: AccessReviewInput!) {
    createAccessReview(input: $input) {
      id
    }
  }
`);

type Input = VariablesOf<typeof CreateReview>['input'];

const REVIEWERS: { value: Input['reviewers']; label: string }[] = [
  { value: 'MANAGER', label: "The principal's manager" },
  { value: 'RESOURCE_OWNER', label: 'The resource owners' },
  { value: 'CONNECTOR_OWNER', label: 'The connector owners' },
  { value: 'USERS', label: 'These platform users' },
];
const UNDECIDED: { value: NonNullable<Input['undecided']>; label: string }[] = [
  { value: 'KEEP', label: 'Keep them' },
  { value: 'REVOKE', label: 'Revoke them' },
  { value: 'RECOMMENDATION', label: 'Follow the recommendation' },
];
const TYPES: { value: NonNullable<Input['resourceTypes']>[number]; label: string }[] = [
  { value: 'GROUP', label: 'Groups' },
  { value: 'ENTERPRISE_APPLICATION', label: 'Enterprise applications' },
  { value: 'DIRECTORY_ROLE', label: 'Directory roles' },
];

/** A datetime-local value 14 days from now, in the reader's time zone. */
function inTwoWeeks(): string {
  const d = new Date(Date.now() + 14 * 86_400_000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

export default function ReviewNewPage(): ReactNode {
  const me = useMe();
  const navigate = useNavigate();
  const { options, chosen } = useConnectorChoice(null);
  const [connectorId, setConnector] = useState<string | null>(null);
  const connector = connectorId ?? chosen;
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'entitlements' | 'types'>('entitlements');
  const [entitlementIds, setEntitlements] = useState<string[]>([]);
  const [types, setTypes] = useState<string[]>(['GROUP']);
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [reviewers, setReviewers] = useState<Input['reviewers']>('MANAGER');
  const [fallback, setFallback] = useState<string[]>([me.subject]);
  const [due, setDue] = useState(inTwoWeeks);
  const [undecided, setUndecided] = useState<NonNullable<Input['undecided']>>('KEEP');
  const [inactiveDays, setInactive] = useState<number | string>(30);
  const [autoRevoke, setAutoRevoke] = useState(true);
  const [state, create] = useMutation(CreateReview);
  const [{ data: found }] = useQuery({
    query: EntitlementSearch,
    variables: { connectorId: connector ?? '', search: debounced || null },
    pause: !connector || scope !== 'entitlements',
  });
  // Labels of every entitlement seen, so the chosen ones keep their names when the search changes.
  const labels = useRef(new Map<string, string>());
  const entitlementOptions = useMemo(() => {
    for (const r of found?.resources.edges ?? [])
      for (const e of r.node.entitlements) if (e.grantable) labels.current.set(e.id, e.displayName);
    const shown = new Set([
      ...entitlementIds,
      ...(found?.resources.edges ?? []).flatMap((r) => r.node.entitlements.filter((e) => e.grantable).map((e) => e.id)),
    ]);
    return [...shown].map((id) => ({ value: id, label: labels.current.get(id) ?? id }));
  }, [found, entitlementIds]);

  const problem = !name.trim()
    ? 'Give the campaign a name.'
    : scope === 'entitlements' && entitlementIds.length === 0
      ? 'Choose at least one entitlement.'
      : scope === 'types' && types.length === 0
        ? 'Choose at least one resource type.'
        : fallback.length === 0
          ? reviewers === 'USERS'
            ? 'Name at least one reviewer.'
            : 'Name at least one fallback reviewer.'
          : !due
            ? 'Choose a due date.'
            : null;

  async function submit() {
    if (!connector || problem) return;
    const input: Input = {
      name: name.trim(),
      connectorId: connector,
      reviewers,
      fallbackSubjects: fallback,
      dueAt: new Date(due).toISOString(),
      undecided,
      inactiveDays: Number(inactiveDays) || 0,
      autoRevoke,
      ...(scope === 'entitlements' ? { entitlementIds } : { resourceTypes: types as NonNullable<Input['resourceTypes']> }),
    };
    const res = await create({ input });
    if (res.data) {
      notifications.show({ message: 'Campaign started', color: 'green' });
      void navigate(`/reviews/${res.data.createAccessReview.id}`);
    }
  }

  if (!canWrite(me)) return <ErrorAlert error="Only connector administrators start access reviews." />;
  return (
    <Stack maw={720}>
      <Title order={2}>New access review</Title>
      <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} placeholder="e.g. Q4 finance groups" />
      <Select label="Connector" data={options} value={connector} onChange={setConnector} allowDeselect={false} />
      <div>
        <Text size="sm" fw={500} id="scope-label" mb={4}>
          Scope
        </Text>
        <SegmentedControl
          aria-labelledby="scope-label"
          value={scope}
          onChange={(v) => setScope(v as 'entitlements' | 'types')}
          data={[
            { value: 'entitlements', label: 'Entitlements' },
            { value: 'types', label: 'Resource types' },
          ]}
        />
      </div>
      {scope === 'entitlements' ? (
        <MultiSelect
          label="Entitlements"
          description="Search resources by name; their grantable entitlements are offered. The direct grants of each are reviewed."
          searchable
          searchValue={search}
          onSearchChange={setSearch}
          data={entitlementOptions}
          value={entitlementIds}
          onChange={setEntitlements}
          nothingFoundMessage={debounced ? 'No grantable entitlement matches' : 'Type to search'}
          clearable
        />
      ) : (
        <MultiSelect
          label="Resource types"
          description="Every grantable entitlement offered by resources of these types."
          data={TYPES}
          value={types}
          onChange={setTypes}
        />
      )}
      <Select
        label="Reviewers"
        data={REVIEWERS}
        value={reviewers}
        onChange={(v) => v && setReviewers(v as Input['reviewers'])}
        allowDeselect={false}
      />
      <TagsInput
        label={reviewers === 'USERS' ? 'Reviewers (platform subjects)' : 'Fallback reviewers (platform subjects)'}
        description={
          reviewers === 'USERS' ? 'They decide every item.' : 'They decide the items whose rule resolves to nobody (no manager, no owners).'
        }
        value={fallback}
        onChange={setFallback}
      />
      <Group grow align="start">
        <TextInput label="Due" type="datetime-local" value={due} onChange={(e) => setDue(e.currentTarget.value)} required />
        <NumberInput
          label="Inactivity (days)"
          description="No sign-in for this long: recommended revoke"
          min={1}
          value={inactiveDays}
          onChange={setInactive}
        />
      </Group>
      <Select
        label="Undecided items at completion"
        data={UNDECIDED}
        value={undecided}
        onChange={(v) => v && setUndecided(v as NonNullable<Input['undecided']>)}
        allowDeselect={false}
      />
      <Switch
        label="Revoke in the tenant when the campaign completes"
        checked={autoRevoke}
        onChange={(e) => setAutoRevoke(e.currentTarget.checked)}
      />
      <ErrorAlert error={state.error} title="Not started" />
      <Group>
        <Button onClick={() => void submit()} loading={state.fetching} disabled={!!problem}>
          Start campaign
        </Button>
        {problem && (
          <Text size="sm" c="dimmed">
            {problem}
          </Text>
        )}
      </Group>
    </Stack>
  );
}
