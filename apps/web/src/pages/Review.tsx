import { Button, Group, Modal, SegmentedControl, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useSubscription } from 'urql';
import { ErrorAlert, QueryState } from '../components/QueryState';
import { StateBadge } from '../components/StatusBadge';
import { VirtualTable } from '../components/VirtualTable';
import { graphql, type ResultOf } from '../graphql';
import { canWrite, useMe } from '../me';
import { usePaged } from '../usePaged';
import { ProgressBar } from './Reviews';

const CampaignFields = graphql(`
  fragment CampaignFields on AccessReview @_unmask {
    id
    name
    status
    reviewers
    fallbackSubjects
    dueAt
    autoRevoke
    undecided
    inactiveDays
    createdBy
    createdAt
    completedAt
    connector {
      id
      displayName
    }
    progress {
      total
      decided
      kept
      revoked
      remediated
      remediationFailed
      regranted
    }
  }
`);

const Campaign = graphql(
  `
    query Campaign($id: ID!) {
      accessReview(id: $id) {
        ...CampaignFields
      }
    }
  `,
  [CampaignFields],
);

const CampaignUpdated = graphql(
  `
    subscription CampaignUpdated($id: ID!) {
      accessReviewUpdated(id: $id) {
        ...CampaignFields
      }
    }
  `,
  [CampaignFields],
);

const CampaignItems = graphql(`
  query CampaignItems($id: ID!, $first: Int, $after: String, $decided: Boolean) {
    accessReview(id: $id) {
      id
      items(first: $first, after: $after, decided: $decided) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            recommendation
            recommendationReason
            decision
            decidedBy
            comment
            remediationError
            regrantedAt
            principal {
              id
              displayName
            }
            entitlement {
              id
              displayName
            }
            reviewers {
              displayName
            }
            remediation {
              id
              status
              error
            }
          }
        }
      }
    }
  }
`);

const Complete = graphql(`
  mutation CompleteReview($id: ID!) {
    completeAccessReview(id: $id) {
      id
      status
    }
  }
`);
const Cancel = graphql(`
  mutation CancelReview($id: ID!) {
    cancelAccessReview(id: $id) {
      id
      status
    }
  }
`);
const Retry = graphql(`
  mutation RetryRemediation($id: ID!) {
    retryAccessReviewRemediation(id: $id) {
      id
      status
    }
  }
`);

type Item = NonNullable<ResultOf<typeof CampaignItems>['accessReview']>['items']['edges'][number]['node'];

const lower = (s: string) => s.charAt(0) + s.slice(1).toLowerCase();

function Figure({ label, value }: { label: string; value: number }): ReactNode {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600} data-testid={`figure-${label.toLowerCase().replace(/\W+/g, '-')}`}>
        {value}
      </Text>
    </div>
  );
}

/** One campaign: live progress and state, remediation, the items, and the evidence. */
export default function ReviewPage(): ReactNode {
  const { id = '' } = useParams();
  const me = useMe();
  const [{ data, fetching, error }] = useQuery({ query: Campaign, variables: { id }, requestPolicy: 'cache-and-network' });
  // graphcache merges every update into the campaign above (same id), so the page follows it live.
  const [live] = useSubscription({ query: CampaignUpdated, variables: { id } });
  const [show, setShow] = useState('all');
  const paged = usePaged(CampaignItems, { id, decided: show === 'all' ? null : show === 'decided' }, (d) => d.accessReview?.items, 200);
  const l = live.data?.accessReviewUpdated;
  const liveKey = l ? `${l.status}:${l.progress.decided}:${l.progress.remediated}:${l.progress.remediationFailed}` : '';
  const { reload } = paged;
  useEffect(() => {
    if (liveKey) reload();
  }, [liveKey, reload]);
  const [completeState, complete] = useMutation(Complete);
  const [cancelState, cancel] = useMutation(Cancel);
  const [retryState, retry] = useMutation(Retry);
  const [confirming, { open, close }] = useDisclosure(false);
  const [action, setAction] = useState<'complete' | 'cancel'>('complete');
  const columns = useMemo<ColumnDef<Item, unknown>[]>(
    () => [
      {
        header: 'Principal',
        id: 'principal',
        cell: (c) => <Link to={`/resources/${c.row.original.principal.id}`}>{c.row.original.principal.displayName}</Link>,
      },
      { header: 'Entitlement', id: 'entitlement', cell: (c) => c.row.original.entitlement.displayName },
      { header: 'Reviewers', id: 'reviewers', cell: (c) => c.row.original.reviewers.map((r) => r.displayName).join(', ') || '—' },
      {
        header: 'Recommendation',
        id: 'recommendation',
        cell: (c) =>
          c.row.original.recommendation
            ? `${lower(c.row.original.recommendation)}${c.row.original.recommendationReason ? ` (${c.row.original.recommendationReason})` : ''}`
            : '—',
      },
      {
        header: 'Decision',
        id: 'decision',
        cell: (c) =>
          c.row.original.decision
            ? `${lower(c.row.original.decision)} by ${c.row.original.decidedBy ?? '?'}${c.row.original.comment ? `: “${c.row.original.comment}”` : ''}`
            : 'Pending',
      },
      {
        header: 'Remediation',
        id: 'remediation',
        cell: (c) => {
          const i = c.row.original;
          if (i.remediationError)
            return (
              <Text size="sm" c="red.9">
                {i.remediationError}
              </Text>
            );
          if (!i.remediation) return '—';
          return (
            <Group gap={4} wrap="nowrap">
              <StateBadge state={i.remediation.status} />
              {i.regrantedAt && <Text size="xs">re-granted since</Text>}
            </Group>
          );
        },
      },
    ],
    [],
  );

  const r = data?.accessReview;
  if (!r) return <QueryState fetching={fetching} error={error} empty emptyText="This campaign does not exist (any more)." />;
  const p = r.progress;
  const admin = canWrite(me);
  const busy = completeState.fetching || cancelState.fetching;
  async function confirm() {
    const res = action === 'complete' ? await complete({ id }) : await cancel({ id });
    if (!res.error) {
      close();
      notifications.show({ message: action === 'complete' ? 'Completing the campaign' : 'Campaign cancelled' });
    }
  }
  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>{r.name}</Title>
          <span data-testid="review-status">
            <StateBadge state={r.status} />
          </span>
        </Group>
        <Group>
          {r.status === 'ACTIVE' && (
            <Button component={Link} to={`/reviews/queue?review=${r.id}`} variant="default">
              Review my items
            </Button>
          )}
          <Button component="a" href={`/exports/access-reviews/${r.id}.csv`} download variant="default" data-testid="review-export">
            Evidence CSV
          </Button>
          {admin && r.status === 'ACTIVE' && (
            <>
              <Button
                onClick={() => {
                  setAction('complete');
                  open();
                }}
              >
                Complete
              </Button>
              <Button
                color="red"
                variant="outline"
                onClick={() => {
                  setAction('cancel');
                  open();
                }}
              >
                Cancel campaign
              </Button>
            </>
          )}
          {admin && p.remediationFailed > 0 && r.status !== 'CANCELLED' && (
            <Button color="orange" onClick={() => void retry({ id })} loading={retryState.fetching}>
              Retry failed revocations
            </Button>
          )}
        </Group>
      </Group>
      <ErrorAlert error={retryState.error} title="Not retried" />
      <Text size="sm">
        {r.connector.displayName} · reviewers: {lower(r.reviewers).replace('_', ' ')}
        {r.fallbackSubjects.length > 0 ? ` (fallback ${r.fallbackSubjects.join(', ')})` : ''} · due {new Date(r.dueAt).toLocaleString()} ·
        undecided items: {lower(r.undecided)} · inactive after {r.inactiveDays} days ·{' '}
        {r.autoRevoke ? 'revokes when it completes' : 'no automatic revoke'}
        {r.completedAt ? ` · completed ${new Date(r.completedAt).toLocaleString()}` : ''} · started by {r.createdBy}
      </Text>
      <ProgressBar decided={p.decided} total={p.total} label="Campaign progress" />
      <SimpleGrid cols={{ base: 3, sm: 7 }} aria-live="polite">
        <Figure label="Items" value={p.total} />
        <Figure label="Decided" value={p.decided} />
        <Figure label="Kept" value={p.kept} />
        <Figure label="Revoked" value={p.revoked} />
        <Figure label="Remediated" value={p.remediated} />
        <Figure label="Remediation failed" value={p.remediationFailed} />
        <Figure label="Re-granted" value={p.regranted} />
      </SimpleGrid>
      <Group justify="space-between">
        <Title order={3}>Items</Title>
        <SegmentedControl
          aria-label="Show items"
          value={show}
          onChange={setShow}
          data={[
            { value: 'all', label: 'All' },
            { value: 'pending', label: 'Pending' },
            { value: 'decided', label: 'Decided' },
          ]}
        />
      </Group>
      <VirtualTable label="Review items" paged={paged} columns={columns} rowKey={(i) => i.id} emptyText="No items here." />
      <Modal opened={confirming} onClose={close} title={action === 'complete' ? `Complete ${r.name}` : `Cancel ${r.name}`}>
        <Stack>
          <Text size="sm">
            {action === 'complete'
              ? `${p.total - p.decided} undecided item(s) will be treated as: ${lower(r.undecided)}. ${r.autoRevoke ? 'Every revoke is then carried out in the tenant.' : 'Nothing is revoked automatically.'}`
              : 'Decisions are kept as evidence; nothing is revoked.'}
          </Text>
          <ErrorAlert error={action === 'complete' ? completeState.error : cancelState.error} title="Not done" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Back
            </Button>
            <Button color={action === 'cancel' ? 'red' : undefined} onClick={() => void confirm()} loading={busy}>
              {action === 'complete' ? 'Complete campaign' : 'Cancel campaign'}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
