import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { createAccessReview, REMEDIATION_BATCH, remediationKey } from '@warden/access-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, waitFor, type Harness } from './support/harness';

/**
 * Crash safety of completion: a governance worker killed (SIGKILL) after a batch of a review's
 * revokes was requested and before the items recorded it, and one killed halfway through many
 * batches. The next worker finishes the job: every REVOKE item has exactly one task, none is lost,
 * none doubled.
 */
const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USERS = 400;

let h: Harness;
let connectorId: string;
let entitlementId: string;

function run(env: Record<string, string>) {
  // node itself with the tsx loader: SIGKILL then kills the worker, not a tsx wrapper that would leave it running.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    output: () => output,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function dueReview(name: string): Promise<string> {
  const r = await createAccessReview(
    h.tdb.db,
    h.tbus.bus,
    { subject: 'admin', role: 'SUPER_ADMIN' },
    {
      name,
      connectorId,
      entitlementIds: [entitlementId],
      reviewers: 'CONNECTOR_OWNER',
      fallbackSubjects: ['fb'],
      dueAt: new Date(Date.now() + 3_600_000),
      undecided: 'REVOKE',
    },
  );
  await sql`UPDATE access_reviews SET due_at = now() - interval '1 second' WHERE id = ${r.review.id}`.execute(h.tdb.db);
  return r.review.id;
}

async function remediation(reviewId: string) {
  const items = await h.tdb.db
    .selectFrom('access_review_items')
    .select(['id', 'remediation_task_id'])
    .where('review_id', '=', reviewId)
    .where('decision', '=', 'REVOKE')
    .execute();
  const tasks = await h.tdb.db
    .selectFrom('provisioning_tasks')
    .select(['id', 'idempotency_key', 'principal_id'])
    .where(
      'idempotency_key',
      'in',
      items.map((i) => remediationKey(i.id, 0)),
    )
    .execute();
  return { items, tasks };
}

beforeAll(async () => {
  h = await createHarness();
  const db = h.tdb.db;
  const c = await db
    .insertInto('connectors')
    .values({ display_name: 'Crash', tenant_id: 't-crash', auth_method: 'CLIENT_SECRET', owners: ['owner-1'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  connectorId = c.id;
  const ids = Array.from({ length: USERS }, (_, i) => `user-${String(i).padStart(4, '0')}`);
  await db
    .insertInto('resources')
    .values([
      ...ids.map((id) => ({ connector_id: connectorId, type: 'USER' as const, external_id: id, display_name: id, profile: '{}' })),
      { connector_id: connectorId, type: 'GROUP' as const, external_id: 'G', display_name: 'G', profile: '{}' },
    ])
    .execute();
  entitlementId = (
    await db
      .insertInto('entitlements')
      .values({
        connector_id: connectorId,
        key: 'GROUP:G:member',
        resource_type: 'GROUP',
        resource_external_id: 'G',
        slug: 'member',
        display_name: 'G',
        metadata: '{}',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  await db
    .insertInto('grants')
    .values(
      ids.map((p) => ({
        connector_id: connectorId,
        entitlement_key: 'GROUP:G:member',
        principal_external_id: p,
        principal_kind: 'USER' as const,
        direct: true,
      })),
    )
    .execute();
});
afterAll(async () => h?.close());

describe('a governance worker killed during completion', () => {
  it('between requesting a batch of revokes and recording it: the next worker reuses those tasks', async () => {
    const reviewId = await dueReview('killed in the window');
    const p = run({ ...h.env, LOG_LEVEL: 'info', REVIEW_INTERVAL_MS: '50', REVIEW_TEST_HOLD_AFTER_REQUEST_MS: '600000' });
    try {
      await waitFor('the failpoint', async () => p.output().includes('holding after revokes were requested'), 30_000);
    } finally {
      await p.kill();
    }
    const orphan = await remediation(reviewId);
    expect(orphan.tasks).toHaveLength(REMEDIATION_BATCH);
    expect(orphan.items.filter((i) => i.remediation_task_id)).toHaveLength(0);

    const worker = await h.start({}, { manual: true });
    await worker.runNow(['access-reviews']);
    await worker.close();
    const after = await remediation(reviewId);
    expect(after.items).toHaveLength(USERS);
    expect(after.tasks).toHaveLength(USERS);
    expect(after.items.every((i) => i.remediation_task_id)).toBe(true);
    expect(new Set(after.items.map((i) => i.remediation_task_id)).size).toBe(USERS);
    const linked = new Set(after.items.map((i) => i.remediation_task_id));
    expect(orphan.tasks.every((t) => linked.has(t.id))).toBe(true);
  });

  it('halfway through many batches: nothing is lost or doubled', async () => {
    const reviewId = await dueReview('killed halfway');
    // Two batches requested and recorded, the third requested and not recorded, the fourth not requested.
    const p = run({
      ...h.env,
      LOG_LEVEL: 'info',
      REVIEW_INTERVAL_MS: '50',
      REVIEW_TEST_HOLD_AFTER_REQUEST_MS: '600000',
      REVIEW_TEST_HOLD_AFTER_BATCHES: '2',
    });
    try {
      await waitFor('the failpoint', async () => p.output().includes('holding after revokes were requested'), 30_000);
    } finally {
      await p.kill();
    }
    const partial = await remediation(reviewId);
    expect(partial.tasks).toHaveLength(3 * REMEDIATION_BATCH);
    expect(partial.items.filter((i) => i.remediation_task_id)).toHaveLength(2 * REMEDIATION_BATCH);

    const worker = await h.start({}, { manual: true });
    await worker.runNow(['access-reviews']);
    await worker.close();
    const after = await remediation(reviewId);
    expect(after.tasks).toHaveLength(USERS);
    expect(after.items.every((i) => i.remediation_task_id)).toBe(true);
    expect(new Set(after.items.map((i) => i.remediation_task_id)).size).toBe(USERS);
    // One REVOKE per (entitlement, principal) of this review: no principal twice.
    expect(new Set(after.tasks.map((t) => t.principal_id)).size).toBe(USERS);
  });
});
