import { ActionIcon, Button, Checkbox, Group, Modal, Select, Stack, Switch, Table, TagsInput, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useEffect, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { ErrorAlert, QueryState } from '../components/QueryState';
import { graphql, type ResultOf } from '../graphql';
import { canWrite, useMe } from '../me';
import { useConnectorChoice } from './Explore';
import { durationText } from './MyAccess';

const Policies = graphql(`
  query Policies($connectorId: ID!) {
    accessPolicies(connectorId: $connectorId) {
      id
      requestable
      maxDurationSeconds
      requireDuration
      steps {
        kind
        subjects
      }
      entitlement {
        id
        displayName
      }
    }
  }
`);

const EntitlementName = graphql(`
  query EntitlementName($id: ID!) {
    entitlement(id: $id) {
      id
      displayName
    }
  }
`);

const SetPolicy = graphql(`
  mutation SetPolicy($input: AccessPolicyInput!) {
    setAccessPolicy(input: $input) {
      id
    }
  }
`);

type Policy = ResultOf<typeof Policies>['accessPolicies'][number];
type Kind = Policy['steps'][number]['kind'];

const KINDS: { value: Kind; label: string }[] = [
  { value: 'MANAGER', label: "The principal's manager" },
  { value: 'RESOURCE_OWNER', label: 'The resource owners' },
  { value: 'CONNECTOR_OWNER', label: 'The connector owners' },
  { value: 'USERS', label: 'These platform users' },
];
const MAX = [
  { value: '', label: 'No limit' },
  { value: '3600', label: '1 hour' },
  { value: '86400', label: '1 day' },
  { value: '604800', label: '7 days' },
  { value: '2592000', label: '30 days' },
  { value: '7776000', label: '90 days' },
];

const stepsText = (p: Policy) =>
  p.steps.length === 0
    ? 'approved at once'
    : p.steps
        .map(
          (s, i) =>
            `${i + 1}. ${KINDS.find((k) => k.value === s.kind)?.label ?? s.kind}${s.subjects.length ? ` (${s.subjects.join(', ')})` : ''}`,
        )
        .join(' → ');

export default function PoliciesPage(): ReactNode {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const { options, chosen } = useConnectorChoice(params.get('connector'));
  const [{ data, fetching, error }, refetch] = useQuery({ query: Policies, variables: { connectorId: chosen ?? '' }, pause: !chosen });
  const policies = data?.accessPolicies ?? [];
  const forEntitlement = params.get('entitlement');
  const writer = canWrite(me);
  return (
    <Stack>
      <Title order={2}>Access policies</Title>
      <Text size="sm">
        A connector&apos;s default policy governs every entitlement without one of its own. Open an entitlement in Explore to give it its
        own policy.
      </Text>
      <Select
        label="Connector"
        data={options}
        value={chosen}
        onChange={(v) => v && setParams({ connector: v }, { replace: true })}
        allowDeselect={false}
        w={260}
      />
      <QueryState fetching={fetching} error={error} empty={policies.length === 0} emptyText="No policies.">
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Access policies">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Applies to</Table.Th>
                <Table.Th>Requestable</Table.Th>
                <Table.Th>Approval</Table.Th>
                <Table.Th>Longest access</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {policies.map((p) => (
                <Table.Tr key={p.id}>
                  <Table.Td>{p.entitlement ? p.entitlement.displayName : 'Default (every other entitlement)'}</Table.Td>
                  <Table.Td>{p.requestable ? 'yes' : 'no'}</Table.Td>
                  <Table.Td>{stepsText(p)}</Table.Td>
                  <Table.Td>
                    {p.maxDurationSeconds === null ? 'no limit' : durationText(p.maxDurationSeconds)}
                    {p.requireDuration ? ', duration required' : ''}
                  </Table.Td>
                  <Table.Td>
                    {writer && chosen && (
                      <PolicyEditor
                        connectorId={chosen}
                        entitlement={p.entitlement}
                        policy={p}
                        onSaved={() => refetch({ requestPolicy: 'network-only' })}
                      />
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </QueryState>
      {writer && chosen && forEntitlement && !policies.some((p) => p.entitlement?.id === forEntitlement) && (
        <NewEntitlementPolicy
          connectorId={chosen}
          entitlementId={forEntitlement}
          onSaved={() => refetch({ requestPolicy: 'network-only' })}
        />
      )}
    </Stack>
  );
}

function NewEntitlementPolicy(props: { connectorId: string; entitlementId: string; onSaved: () => void }): ReactNode {
  const [{ data }] = useQuery({ query: EntitlementName, variables: { id: props.entitlementId } });
  if (!data?.entitlement) return null;
  return (
    <Group>
      <Text>{data.entitlement.displayName} follows the default policy.</Text>
      <PolicyEditor connectorId={props.connectorId} entitlement={data.entitlement} policy={null} onSaved={props.onSaved} startOpen />
    </Group>
  );
}

function PolicyEditor(props: {
  connectorId: string;
  entitlement: { id: string; displayName: string } | null;
  policy: Policy | null;
  onSaved: () => void;
  startOpen?: boolean;
}): ReactNode {
  const [opened, { open, close }] = useDisclosure(props.startOpen ?? false);
  const [requestable, setRequestable] = useState(props.policy?.requestable ?? true);
  const [steps, setSteps] = useState<{ kind: Kind; subjects: string[] }[]>(
    props.policy?.steps.map((s) => ({ kind: s.kind, subjects: [...s.subjects] })) ?? [{ kind: 'MANAGER', subjects: [] }],
  );
  const [max, setMax] = useState(props.policy?.maxDurationSeconds != null ? String(props.policy.maxDurationSeconds) : '');
  const [requireDuration, setRequireDuration] = useState(props.policy?.requireDuration ?? false);
  const [state, save] = useMutation(SetPolicy);
  useEffect(() => {
    if (props.startOpen) open();
  }, [props.startOpen, open]);
  const name = props.entitlement ? props.entitlement.displayName : 'the default policy';
  async function submit() {
    const r = await save({
      input: {
        connectorId: props.connectorId,
        ...(props.entitlement ? { entitlementId: props.entitlement.id } : {}),
        requestable,
        steps,
        maxDurationSeconds: max ? Number(max) : null,
        requireDuration,
      },
    });
    if (r.data) {
      close();
      notifications.show({ message: `Policy of ${name} saved`, color: 'green' });
      props.onSaved();
    }
  }
  return (
    <>
      <Button size="xs" variant="default" onClick={open}>
        {props.policy ? 'Edit' : 'Give it its own policy'}
      </Button>
      <Modal opened={opened} onClose={close} title={`Policy: ${name}`} size="lg">
        <Stack>
          <Switch label="Requestable" checked={requestable} onChange={(e) => setRequestable(e.currentTarget.checked)} />
          <Text fw={600} size="sm">
            Approval steps, in order (none: approved at once)
          </Text>
          {steps.map((s, i) => (
            <Group key={i} align="end" wrap="nowrap">
              <Select
                label={`Step ${i + 1}`}
                data={KINDS}
                value={s.kind}
                onChange={(v) => v && setSteps(steps.map((o, j) => (j === i ? { ...o, kind: v as Kind } : o)))}
                allowDeselect={false}
              />
              <TagsInput
                label={s.kind === 'USERS' ? 'Users (sign-in subjects)' : 'Fallback deciders (sign-in subjects)'}
                value={s.subjects}
                onChange={(v) => setSteps(steps.map((o, j) => (j === i ? { ...o, subjects: v } : o)))}
                style={{ flex: 1 }}
              />
              <ActionIcon
                variant="default"
                size="lg"
                aria-label={`Remove step ${i + 1}`}
                onClick={() => setSteps(steps.filter((_, j) => j !== i))}
              >
                ×
              </ActionIcon>
            </Group>
          ))}
          <Group>
            <Button size="xs" variant="default" onClick={() => setSteps([...steps, { kind: 'MANAGER', subjects: [] }])}>
              Add a step
            </Button>
          </Group>
          <Select
            label="Longest access a request may ask for"
            data={MAX}
            value={max}
            onChange={(v) => setMax(v ?? '')}
            allowDeselect={false}
          />
          <Checkbox
            label="A request must ask for a duration (no permanent access)"
            checked={requireDuration}
            onChange={(e) => setRequireDuration(e.currentTarget.checked)}
          />
          <ErrorAlert error={state.error} title="Not saved" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button onClick={() => void submit()} loading={state.fetching}>
              Save policy
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
