import {
  Alert,
  Button,
  Card,
  Checkbox,
  Group,
  Modal,
  PasswordInput,
  Progress,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Table,
  TagsInput,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useSubscription } from 'urql';
import { MissingPermissions } from '../components/Permissions';
import { ErrorAlert, QueryState } from '../components/QueryState';
import { ConnectorStatusBadge, StateBadge } from '../components/StatusBadge';
import { graphql, type ResultOf } from '../graphql';
import { canWrite, useMe } from '../me';
import { SyncRunUpdated, TriggerSync } from './Connectors';

const ConnectorDetail = graphql(`
  query ConnectorDetail($id: ID!) {
    connector(id: $id) {
      id
      displayName
      status
      statusMessage
      authMethod
      tenantId
      clientId
      skipAdGroups
      owners
      graphBaseUrl
      missingReadPermissions
      missingProvisioningPermissions
      syncRuns(first: 20) {
        totalCount
        edges {
          node {
            id
            mode
            status
            progress
            error
            requestedBy
            queuedAt
            startedAt
            finishedAt
            stats {
              users
              groups
              grants
              graphRequests
              throttledRequests
            }
          }
        }
      }
      logs(first: 200) {
        totalCount
        edges {
          node {
            at
            level
            message
          }
        }
      }
    }
  }
`);

const UpdateConnector = graphql(`
  mutation UpdateConnector($id: ID!, $input: UpdateConnectorInput!) {
    updateConnector(id: $id, input: $input) {
      id
      displayName
      skipAdGroups
      owners
      status
    }
  }
`);

const DeleteConnector = graphql(`
  mutation DeleteConnector($id: ID!, $revoke: Boolean) {
    deleteConnector(id: $id, revokeTimeBoundAccess: $revoke)
  }
`);

type Run = ResultOf<typeof SyncRunUpdated>['syncRunUpdated'];
const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

export default function ConnectorDetailPage(): ReactNode {
  const { id = '' } = useParams();
  const me = useMe();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ConnectorDetail, variables: { id } });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const [live] = useSubscription({ query: SyncRunUpdated, variables: { connectorId: id } });
  const liveRun = live.data?.syncRunUpdated;
  const liveKey = liveRun ? `${liveRun.id}:${liveRun.status}` : '';
  useEffect(() => {
    if (liveKey) reload();
  }, [liveKey, reload]);
  const status = liveRun?.status === 'RUNNING' ? 'SYNCING' : (data?.connector?.status ?? 'NOT_CONNECTED');
  const [level, setLevel] = useState('ALL');
  const [syncState, trigger] = useMutation(TriggerSync);
  const c = data?.connector;
  if (!c) return <QueryState fetching={fetching} error={error} empty emptyText="This connector does not exist (any more)." />;
  const writer = canWrite(me);
  const runs = c.syncRuns.edges.map((e) => e.node);
  const logs = c.logs.edges.map((e) => e.node).filter((l) => level === 'ALL' || l.level === level);
  const current = liveRun && (liveRun.status === 'RUNNING' || liveRun.status === 'QUEUED') ? liveRun : null;
  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>{c.displayName}</Title>
          <ConnectorStatusBadge status={status} />
        </Group>
        {writer && (
          <Group>
            <Button variant="default" loading={syncState.fetching} onClick={() => void trigger({ connectorId: id, mode: 'INCREMENTAL' })}>
              Incremental sync
            </Button>
            <Button loading={syncState.fetching} onClick={() => void trigger({ connectorId: id, mode: 'FULL' })}>
              Full sync
            </Button>
            <EditConnector connector={c} />
            <DeleteConnectorButton id={c.id} name={c.displayName} />
          </Group>
        )}
      </Group>
      <ErrorAlert error={syncState.error} title="The sync was not started" />
      {c.statusMessage && (
        <Alert color={c.status === 'ERROR' ? 'red' : 'blue'} role="status">
          {c.statusMessage}
        </Alert>
      )}
      <Text size="sm">
        {c.authMethod.replace('_', ' ').toLowerCase()} · tenant {c.tenantId ?? '—'} · client {c.clientId ?? '—'} · owners{' '}
        {c.owners.join(', ')}
        {c.skipAdGroups ? ' · Active Directory groups skipped' : ''}
      </Text>
      {current && <LiveProgress run={current} />}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <MissingPermissions title="Read-only permissions (sync)" permissions={c.missingReadPermissions} okText="All granted." />
        <MissingPermissions
          title="Provisioning permissions (grant and revoke)"
          permissions={c.missingProvisioningPermissions}
          okText="All granted."
        />
      </SimpleGrid>
      <Title order={3}>Run history</Title>
      <QueryState fetching={false} empty={runs.length === 0} emptyText="No sync has run yet.">
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Run history">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Queued</Table.Th>
                <Table.Th>Mode</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Users / groups / grants</Table.Th>
                <Table.Th>Graph requests (throttled)</Table.Th>
                <Table.Th>Finished</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {runs.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>{when(r.queuedAt)}</Table.Td>
                  <Table.Td>{r.mode.toLowerCase()}</Table.Td>
                  <Table.Td>
                    <StateBadge state={r.status} />
                    {r.error && (
                      <Text size="xs" c="red.8">
                        {r.error}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {r.stats.users.toLocaleString()} / {r.stats.groups.toLocaleString()} / {r.stats.grants.toLocaleString()}
                  </Table.Td>
                  <Table.Td>
                    {r.stats.graphRequests.toLocaleString()} ({r.stats.throttledRequests.toLocaleString()})
                  </Table.Td>
                  <Table.Td>{when(r.finishedAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </QueryState>
      <Group justify="space-between">
        <Title order={3}>Logs</Title>
        <SegmentedControl
          aria-label="Log level"
          value={level}
          onChange={setLevel}
          data={[
            { value: 'ALL', label: 'All' },
            { value: 'INFO', label: 'Info' },
            { value: 'WARN', label: 'Warnings' },
            { value: 'ERROR', label: 'Errors' },
          ]}
        />
      </Group>
      <QueryState fetching={false} empty={logs.length === 0} emptyText="No log lines at this level.">
        <Table.ScrollContainer minWidth={640}>
          <Table aria-label="Logs" data-testid="logs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Time</Table.Th>
                <Table.Th>Level</Table.Th>
                <Table.Th>Message</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {logs.map((l, i) => (
                <Table.Tr key={`${l.at}-${i}`}>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>{when(l.at)}</Table.Td>
                  <Table.Td>
                    <StateBadge state={l.level} />
                  </Table.Td>
                  <Table.Td>{l.message}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </QueryState>
    </Stack>
  );
}

function LiveProgress({ run }: { run: Run }): ReactNode {
  return (
    <Card withBorder data-testid="live-progress" aria-live="polite">
      <Stack gap="xs">
        <Group justify="space-between">
          <Text fw={600}>
            {run.mode === 'FULL' ? 'Full' : 'Incremental'} sync {run.status.toLowerCase()}
          </Text>
          <Text size="sm">{run.progress ?? 'waiting for a worker'}</Text>
        </Group>
        <Progress value={100} animated aria-label="Sync in progress" />
        <Text size="sm">
          users {run.stats.users.toLocaleString()} · managed identities {run.stats.managedIdentities.toLocaleString()} · groups{' '}
          {run.stats.groups.toLocaleString()} · apps {run.stats.enterpriseApplications.toLocaleString()} · roles{' '}
          {run.stats.directoryRoles.toLocaleString()} · grants {run.stats.grants.toLocaleString()} · Graph requests{' '}
          {run.stats.graphRequests.toLocaleString()} (throttled {run.stats.throttledRequests.toLocaleString()})
        </Text>
      </Stack>
    </Card>
  );
}

function EditConnector({
  connector,
}: {
  connector: {
    id: string;
    displayName: string;
    tenantId: string | null;
    clientId: string | null;
    skipAdGroups: boolean;
    owners: string[];
    authMethod: string;
  };
}): ReactNode {
  const [opened, { open, close }] = useDisclosure(false);
  const [name, setName] = useState(connector.displayName);
  const [owners, setOwners] = useState(connector.owners);
  const [skip, setSkip] = useState(connector.skipAdGroups);
  const [secret, setSecret] = useState('');
  const [state, update] = useMutation(UpdateConnector);
  async function save() {
    const r = await update({
      id: connector.id,
      input: { displayName: name, owners, skipAdGroups: skip, ...(secret ? { clientSecret: secret } : {}) },
    });
    if (r.data) {
      setSecret('');
      close();
      notifications.show({ message: 'Connector saved', color: 'green' });
    }
  }
  return (
    <>
      <Button variant="default" onClick={open}>
        Edit
      </Button>
      <Modal opened={opened} onClose={close} title="Edit connector">
        <Stack>
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
          <TagsInput label="Owners" value={owners} onChange={setOwners} />
          <Checkbox label="Skip syncing Active Directory groups" checked={skip} onChange={(e) => setSkip(e.currentTarget.checked)} />
          {connector.authMethod === 'CLIENT_SECRET' && (
            <PasswordInput
              label="New client secret"
              description="Leave empty to keep the current one"
              value={secret}
              onChange={(e) => setSecret(e.currentTarget.value)}
            />
          )}
          <ErrorAlert error={state.error} title="Not saved" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button onClick={() => void save()} loading={state.fetching}>
              Save
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

function DeleteConnectorButton({ id, name }: { id: string; name: string }): ReactNode {
  const [opened, { open, close }] = useDisclosure(false);
  const [revoke, setRevoke] = useState(false);
  const [state, remove] = useMutation(DeleteConnector);
  const navigate = useNavigate();
  async function confirm() {
    const r = await remove({ id, revoke });
    if (r.data?.deleteConnector) {
      close();
      notifications.show({ message: `${name} deleted`, color: 'green' });
      void navigate('/connectors');
    }
  }
  return (
    <>
      <Button color="red" variant="outline" onClick={open}>
        Delete
      </Button>
      <Modal opened={opened} onClose={close} title={`Delete ${name}?`}>
        <Stack>
          <Text size="sm">
            Warden forgets this tenant: its synced users, groups, grants, runs and logs. Nothing is changed in Entra ID. Time-bound access
            that Warden granted through this connector would never expire, so deletion is refused while any is open or a grant or revoke is
            queued.
          </Text>
          <Checkbox
            label="First revoke the open time-bound access (then delete again once the revokes have completed)"
            checked={revoke}
            onChange={(e) => setRevoke(e.currentTarget.checked)}
          />
          <ErrorAlert error={state.error} title="Not deleted" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="red" onClick={() => void confirm()} loading={state.fetching}>
              Delete connector
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
