import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Group,
  Paper,
  SegmentedControl,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMemo, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, type CombinedError } from 'urql';
import { QueryState } from '../components/QueryState';
import { errorCode, humanError } from '../errors';
import { graphql, type ResultOf } from '../graphql';
import { usePaged } from '../usePaged';

// Only fields a member may read (the gateway's MEMBER_VISIBLE_FIELDS): reviewers are often members.
const QueueItem = graphql(`
  fragment QueueItem on AccessReviewItem @_unmask {
    id
    recommendation
    recommendationReason
    lastSignInAt
    inheritedCount
    review {
      id
      name
      dueAt
    }
    principal {
      id
      type
      displayName
    }
    entitlement {
      id
      displayName
    }
    reviewers {
      displayName
    }
  }
`);

const MyQueue = graphql(
  `
    query MyQueue($first: Int, $after: String) {
      myReviewItems(first: $first, after: $after, pending: true) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            ...QueueItem
          }
        }
      }
    }
  `,
  [QueueItem],
);

const ReviewQueue = graphql(
  `
    query ReviewQueue($id: ID!, $first: Int, $after: String) {
      accessReview(id: $id) {
        id
        items(first: $first, after: $after, mine: true, decided: false) {
          totalCount
          pageInfo {
            hasNextPage
            endCursor
          }
          edges {
            node {
              ...QueueItem
            }
          }
        }
      }
    }
  `,
  [QueueItem],
);

const Decide = graphql(`
  mutation DecideItems($itemIds: [ID!]!, $decision: ReviewDecision!, $comment: String) {
    decideReviewItems(itemIds: $itemIds, decision: $decision, comment: $comment) {
      id
      decision
    }
  }
`);

type Item = ResultOf<typeof QueueItem>;
type Decision = 'KEEP' | 'REVOKE';

/** The coded error of a refused batch (all or nothing: nothing was recorded). */
function Refused({ error }: { error: CombinedError | undefined }): ReactNode {
  if (!error) return null;
  const code = errorCode(error);
  return (
    <Alert color="red" title="Nothing was recorded" role="alert">
      {code ? `${code}: ` : ''}
      {humanError(error)}
    </Alert>
  );
}

function RecommendationBadge({ item }: { item: Item }): ReactNode {
  if (!item.recommendation) return <Text size="sm">No recommendation</Text>;
  return (
    <Group gap={6} wrap="nowrap">
      <Badge color={item.recommendation === 'REVOKE' ? 'red.9' : 'teal.9'} variant="filled" autoContrast>
        {item.recommendation === 'REVOKE' ? 'Revoke' : 'Keep'}
      </Badge>
      {item.recommendationReason && <Text size="sm">{item.recommendationReason}</Text>}
    </Group>
  );
}

/**
 * The reviewer's queue: its pending items (across every active campaign, or one campaign's with
 * ?review=), grouped by principal or by entitlement, decided in bulk with one comment.
 */
export default function ReviewQueuePage(): ReactNode {
  const [params] = useSearchParams();
  const reviewId = params.get('review');
  const all = usePaged(MyQueue, reviewId ? null : {}, (d) => d.myReviewItems, 500);
  const one = usePaged(ReviewQueue, reviewId ? { id: reviewId } : null, (d) => d.accessReview?.items, 500);
  const paged = reviewId ? one : all;
  const [groupBy, setGroupBy] = useState<'principal' | 'entitlement'>('principal');
  const [revokeOnly, setRevokeOnly] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [comment, setComment] = useState('');
  const [state, decide] = useMutation(Decide);
  const [pending, setPending] = useState<Decision | null>(null);

  const shown = useMemo(() => paged.rows.filter((i) => !revokeOnly || i.recommendation === 'REVOKE'), [paged.rows, revokeOnly]);
  const groups = useMemo(() => {
    const m = new Map<string, { title: string; items: Item[] }>();
    for (const i of shown) {
      const key = groupBy === 'principal' ? i.principal.id : i.entitlement.id;
      const title = groupBy === 'principal' ? i.principal.displayName : i.entitlement.displayName;
      const g = m.get(key) ?? { title, items: [] };
      g.items.push(i);
      m.set(key, g);
    }
    return [...m.entries()].sort((a, b) => a[1].title.localeCompare(b[1].title));
  }, [shown, groupBy]);
  const chosen = shown.filter((i) => selected.has(i.id));
  const allShownSelected = shown.length > 0 && chosen.length === shown.length;

  const toggle = (ids: string[], on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      for (const id of ids)
        if (on) next.add(id);
        else next.delete(id);
      return next;
    });

  async function submit(decision: Decision) {
    setPending(decision);
    const res = await decide({ itemIds: chosen.map((i) => i.id), decision, comment: comment.trim() || null });
    setPending(null);
    if (res.error) return;
    notifications.show({ message: `${chosen.length} item(s) ${decision === 'KEEP' ? 'kept' : 'revoked'}`, color: 'green' });
    setSelected(new Set());
    setComment('');
    paged.reload();
  }

  return (
    <Stack>
      <Title order={2}>My review queue</Title>
      <Text size="sm" c="dimmed">
        Keep or revoke each access below. Recommendations come from the principal&apos;s sign-in activity and account state; revocations are
        carried out when the campaign completes.
      </Text>
      <Group align="end" wrap="wrap">
        <div>
          <Text size="sm" fw={500} id="group-by-label" mb={4}>
            Group by
          </Text>
          <SegmentedControl
            aria-labelledby="group-by-label"
            value={groupBy}
            onChange={(v) => setGroupBy(v as 'principal' | 'entitlement')}
            data={[
              { value: 'principal', label: 'Principal' },
              { value: 'entitlement', label: 'Entitlement' },
            ]}
          />
        </div>
        <Switch label="Recommended revoke only" checked={revokeOnly} onChange={(e) => setRevokeOnly(e.currentTarget.checked)} />
        <Checkbox
          label={`Select all shown (${shown.length})`}
          checked={allShownSelected}
          indeterminate={chosen.length > 0 && !allShownSelected}
          onChange={(e) =>
            toggle(
              shown.map((i) => i.id),
              e.currentTarget.checked,
            )
          }
          disabled={shown.length === 0}
        />
      </Group>
      <Paper withBorder p="sm">
        <Stack gap="xs">
          <Textarea
            label="Comment (recorded with each decision)"
            value={comment}
            onChange={(e) => setComment(e.currentTarget.value)}
            autosize
            minRows={1}
          />
          <Group>
            <Button onClick={() => void submit('KEEP')} disabled={chosen.length === 0} loading={pending === 'KEEP' && state.fetching}>
              Keep selected ({chosen.length})
            </Button>
            <Button
              color="red"
              onClick={() => void submit('REVOKE')}
              disabled={chosen.length === 0}
              loading={pending === 'REVOKE' && state.fetching}
            >
              Revoke selected ({chosen.length})
            </Button>
          </Group>
          <Refused error={state.error} />
        </Stack>
      </Paper>
      <QueryState
        fetching={paged.fetching}
        error={paged.error}
        empty={shown.length === 0}
        emptyText={
          revokeOnly && paged.rows.length > 0 ? 'No pending item is recommended for revoke.' : 'Nothing is waiting for your review.'
        }
      >
        <Text size="sm" c="dimmed" aria-live="polite" data-testid="queue-count">
          {shown.length} of {paged.totalCount ?? 0} pending item(s) shown
        </Text>
        <Stack>
          {groups.map(([key, g]) => {
            const ids = g.items.map((i) => i.id);
            const on = ids.every((id) => selected.has(id));
            return (
              <Paper withBorder p="sm" key={key} data-testid={`group-${g.title}`}>
                <Group justify="space-between" mb="xs">
                  <Title order={3} size="h5">
                    {g.title}
                  </Title>
                  <Checkbox
                    label={`Select ${g.items.length}`}
                    aria-label={`Select every item of ${g.title}`}
                    checked={on}
                    onChange={(e) => toggle(ids, e.currentTarget.checked)}
                  />
                </Group>
                <Table aria-label={`Items of ${g.title}`}>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>
                        <VisuallyHidden>Selected</VisuallyHidden>
                      </Table.Th>
                      <Table.Th>{groupBy === 'principal' ? 'Entitlement' : 'Principal'}</Table.Th>
                      <Table.Th>Recommendation</Table.Th>
                      <Table.Th>Last sign-in</Table.Th>
                      <Table.Th>Campaign</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {g.items.map((i) => {
                      const other = groupBy === 'principal' ? i.entitlement.displayName : i.principal.displayName;
                      return (
                        <Table.Tr key={i.id} data-recommendation={i.recommendation ?? 'NONE'}>
                          <Table.Td>
                            <Checkbox
                              aria-label={`Select ${i.principal.displayName}: ${i.entitlement.displayName}`}
                              checked={selected.has(i.id)}
                              onChange={(e) => toggle([i.id], e.currentTarget.checked)}
                            />
                          </Table.Td>
                          <Table.Td>
                            {other}
                            {i.inheritedCount ? ` (${i.inheritedCount} inherit it)` : ''}
                          </Table.Td>
                          <Table.Td>
                            <RecommendationBadge item={i} />
                          </Table.Td>
                          <Table.Td>{i.lastSignInAt ? new Date(i.lastSignInAt).toLocaleDateString() : 'never / unknown'}</Table.Td>
                          <Table.Td>
                            {i.review.name} (due {new Date(i.review.dueAt).toLocaleDateString()})
                          </Table.Td>
                        </Table.Tr>
                      );
                    })}
                  </Table.Tbody>
                </Table>
              </Paper>
            );
          })}
        </Stack>
        {paged.hasMore && (
          <Button variant="default" onClick={paged.loadMore} loading={paged.fetching}>
            Load more
          </Button>
        )}
      </QueryState>
    </Stack>
  );
}
