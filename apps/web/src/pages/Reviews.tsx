import { Anchor, Button, Group, Progress, Select, Stack, Text, Title } from '@mantine/core';
import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState, type ReactNode } from 'react';
import { Link, Navigate } from 'react-router';
import { StateBadge } from '../components/StatusBadge';
import { VirtualTable } from '../components/VirtualTable';
import { graphql, type ResultOf } from '../graphql';
import { canWrite, isStaff, useMe } from '../me';
import { usePaged } from '../usePaged';

const Campaigns = graphql(`
  query Campaigns($first: Int, $after: String, $status: AccessReviewStatus) {
    accessReviews(first: $first, after: $after, status: $status) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          status
          reviewers
          dueAt
          createdAt
          connector {
            id
            displayName
          }
          progress {
            total
            decided
            revoked
            remediated
            remediationFailed
          }
        }
      }
    }
  }
`);

type Row = ResultOf<typeof Campaigns>['accessReviews']['edges'][number]['node'];

export const STATUSES = ['ACTIVE', 'COMPLETING', 'COMPLETED', 'CANCELLED'] as const;

/** Decided out of total, as a bar with its numbers (the bar alone says nothing to a screen reader). */
export function ProgressBar({ decided, total, label }: { decided: number; total: number; label: string }): ReactNode {
  const pct = total === 0 ? 100 : Math.round((decided / total) * 100);
  return (
    <Group gap="xs" wrap="nowrap">
      <Progress value={pct} w={120} aria-label={label} />
      <Text size="sm" style={{ whiteSpace: 'nowrap' }}>
        {decided} / {total} decided
      </Text>
    </Group>
  );
}

/** Access review campaigns (staff); a member has only its queue, so it goes there. */
export default function ReviewsPage(): ReactNode {
  const me = useMe();
  const [status, setStatus] = useState<string | null>(null);
  const paged = usePaged(
    Campaigns,
    isStaff(me) ? { status: status as (typeof STATUSES)[number] | null } : null,
    (d) => d.accessReviews,
    100,
  );
  const columns = useMemo<ColumnDef<Row, unknown>[]>(
    () => [
      { header: 'Campaign', id: 'name', cell: (c) => <Link to={`/reviews/${c.row.original.id}`}>{c.row.original.name}</Link> },
      { header: 'Connector', id: 'connector', cell: (c) => c.row.original.connector.displayName },
      { header: 'Status', id: 'status', cell: (c) => <StateBadge state={c.row.original.status} /> },
      {
        header: 'Progress',
        id: 'progress',
        cell: (c) => (
          <ProgressBar
            decided={c.row.original.progress.decided}
            total={c.row.original.progress.total}
            label={`Progress of ${c.row.original.name}`}
          />
        ),
      },
      {
        header: 'Remediation',
        id: 'remediation',
        cell: (c) => {
          const p = c.row.original.progress;
          return p.revoked === 0
            ? '—'
            : `${p.remediated} of ${p.revoked} revoked${p.remediationFailed ? `, ${p.remediationFailed} failed` : ''}`;
        },
      },
      { header: 'Due', id: 'due', cell: (c) => new Date(c.row.original.dueAt).toLocaleDateString() },
    ],
    [],
  );
  if (!isStaff(me)) return <Navigate to="/reviews/queue" replace />;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Access reviews</Title>
        <Group>
          <Button component={Link} to="/reviews/queue" variant="default">
            My review queue
          </Button>
          {canWrite(me) && (
            <Button component={Link} to="/reviews/new">
              New campaign
            </Button>
          )}
        </Group>
      </Group>
      <Select
        label="Status"
        placeholder="Every status"
        data={STATUSES.map((s) => ({ value: s, label: s.charAt(0) + s.slice(1).toLowerCase() }))}
        value={status}
        onChange={setStatus}
        clearable
        w={220}
      />
      <VirtualTable
        label="Campaigns"
        paged={paged}
        columns={columns}
        rowKey={(r) => r.id}
        emptyText="No access review campaigns yet."
        rowHeight={52}
      />
      <Text size="sm" c="dimmed">
        A campaign asks reviewers to keep or revoke each direct grant in its scope; revocations are carried out when it completes.{' '}
        <Anchor component={Link} to="/reviews/queue" underline="always">
          Decide your items
        </Anchor>
        .
      </Text>
    </Stack>
  );
}
