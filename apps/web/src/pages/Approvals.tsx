import { Button, Card, Group, List, Modal, Stack, Text, Textarea, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useState, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { ErrorAlert, QueryState } from '../components/QueryState';
import { StateBadge } from '../components/StatusBadge';
import { graphql } from '../graphql';
import { isStaff, useMe } from '../me';
import { durationText, RequestFields, type Request } from './MyAccess';

const Inbox = graphql(
  `
    query Inbox {
      accessRequests(awaitingMyDecision: true, first: 100) {
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

const PrincipalContext = graphql(`
  query PrincipalContext($id: ID!) {
    resource(id: $id) {
      id
      manager {
        id
        displayName
      }
      grants(first: 20) {
        totalCount
        edges {
          node {
            id
            direct
            entitlement {
              id
              displayName
            }
          }
        }
      }
    }
  }
`);

const Approve = graphql(`
  mutation Approve($id: ID!, $comment: String) {
    approveAccessRequest(id: $id, comment: $comment) {
      id
      status
    }
  }
`);

const Deny = graphql(`
  mutation Deny($id: ID!, $comment: String) {
    denyAccessRequest(id: $id, comment: $comment) {
      id
      status
    }
  }
`);

export default function ApprovalsPage(): ReactNode {
  const me = useMe();
  const [{ data, fetching, error }, refetch] = useQuery({ query: Inbox, requestPolicy: 'cache-and-network' });
  const requests = data?.accessRequests.edges.map((e) => e.node) ?? [];
  return (
    <Stack>
      <Title order={2}>Approvals</Title>
      <QueryState fetching={fetching} error={error} empty={requests.length === 0} emptyText="Nothing is waiting for your decision.">
        <Stack>
          {requests.map((r) => (
            <ApprovalCard key={r.id} request={r} staff={isStaff(me)} onDecided={() => refetch({ requestPolicy: 'network-only' })} />
          ))}
        </Stack>
      </QueryState>
    </Stack>
  );
}

/** A platform role may also read the principal's manager and current access (a member approver may not). */
function PrincipalDetails({ id }: { id: string }): ReactNode {
  const [{ data, error }] = useQuery({ query: PrincipalContext, variables: { id } });
  if (error) return <ErrorAlert error={error} />;
  const r = data?.resource;
  if (!r) return null;
  return (
    <Stack gap={2}>
      <Text size="sm">Manager: {r.manager?.displayName ?? 'none'}</Text>
      <Text size="sm">Current access ({r.grants.totalCount}):</Text>
      <List size="sm">
        {r.grants.edges.map((g) => (
          <List.Item key={g.node.id}>
            {g.node.entitlement.displayName}
            {g.node.direct ? '' : ' (inherited)'}
          </List.Item>
        ))}
      </List>
    </Stack>
  );
}

function ApprovalCard({ request: r, staff, onDecided }: { request: Request; staff: boolean; onDecided: () => void }): ReactNode {
  const [opened, { open, close }] = useDisclosure(false);
  const [approving, setApproving] = useState(true);
  const [comment, setComment] = useState('');
  const [approveState, approve] = useMutation(Approve);
  const [denyState, deny] = useMutation(Deny);
  const state = approving ? approveState : denyState;
  async function decide() {
    const vars = { id: r.id, comment: comment.trim() || null };
    const res = approving ? await approve(vars) : await deny(vars);
    if (!res.error) {
      close();
      notifications.show({ message: approving ? 'Approved' : 'Denied', color: approving ? 'green' : 'gray' });
      onDecided();
    }
  }
  const ask = (a: boolean) => {
    setApproving(a);
    open();
  };
  return (
    <Card withBorder data-testid={`approval-${r.entitlement.displayName}`}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h4">
            {r.entitlement.displayName}
          </Title>
          <StateBadge state={r.status} />
        </Group>
        <Text size="sm">
          For <strong>{r.principal.displayName}</strong>, requested by {r.requestedBy} on {new Date(r.createdAt).toLocaleString()} ·{' '}
          {r.connector.displayName} · {durationText(r.durationSeconds)} · step {(r.currentStep ?? 0) + 1}
        </Text>
        <Text size="sm">Justification: “{r.justification}”</Text>
        {staff && <PrincipalDetails id={r.principal.id} />}
        <Group>
          <Button onClick={() => ask(true)}>Approve</Button>
          <Button color="red" variant="outline" onClick={() => ask(false)}>
            Deny
          </Button>
        </Group>
      </Stack>
      <Modal
        opened={opened}
        onClose={close}
        title={`${approving ? 'Approve' : 'Deny'} ${r.entitlement.displayName} for ${r.principal.displayName}`}
      >
        <Stack>
          <Textarea label="Comment" value={comment} onChange={(e) => setComment(e.currentTarget.value)} autosize minRows={2} />
          <ErrorAlert error={state.error} title="Not recorded" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color={approving ? undefined : 'red'} onClick={() => void decide()} loading={state.fetching}>
              {approving ? 'Approve request' : 'Deny request'}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Card>
  );
}
