import { createAccessReview } from '@warden/access-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvironment } from '../src/environment';
import { createHarness, type Harness } from './support/harness';

/**
 * The access-review loop: reminders (start, before dueAt, escalation) once per reviewer and phase,
 * completion at dueAt by whichever worker runs next (the timer is state in Postgres), revokes
 * requested once and followed until COMPLETED. The worker's clock is driven by the test.
 */
let h: Harness;
let connectorId: string;
let reviewId: string;
const DAY = 86_400_000;
let clock = new Date();

async function notifications(kind: string) {
  return h.tdb.db
    .selectFrom('notifications')
    .select(['dedupe_key', 'recipients', 'title'])
    .where('kind', '=', kind)
    .orderBy('dedupe_key')
    .execute();
}

beforeAll(async () => {
  h = await createHarness();
  const db = h.tdb.db;
  const c = await db
    .insertInto('connectors')
    .values({ display_name: 'Contoso', tenant_id: 't-1', auth_method: 'CLIENT_SECRET', owners: ['owner-1'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  connectorId = c.id;
  const users = [
    { id: 'boss', profile: {} },
    { id: 'u1', profile: { managerId: 'boss' } },
    { id: 'u2', profile: { managerId: 'boss' } },
    { id: 'u3', profile: {} },
  ];
  for (const u of users)
    await db
      .insertInto('resources')
      .values({ connector_id: connectorId, type: 'USER', external_id: u.id, display_name: u.id, profile: JSON.stringify(u.profile) })
      .execute();
  await db
    .insertInto('resources')
    .values({ connector_id: connectorId, type: 'GROUP', external_id: 'G', display_name: 'G', profile: '{}' })
    .execute();
  const e = await db
    .insertInto('entitlements')
    .values({
      connector_id: connectorId,
      key: 'GROUP:G:member',
      resource_type: 'GROUP',
      resource_external_id: 'G',
      slug: 'member',
      display_name: 'Member of G',
      metadata: '{}',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('grants')
    .values(
      ['u1', 'u2', 'u3'].map((p) => ({
        connector_id: connectorId,
        entitlement_key: 'GROUP:G:member',
        principal_external_id: p,
        principal_kind: 'USER' as const,
        direct: true,
      })),
    )
    .execute();
  const r = await createAccessReview(
    db,
    h.tbus.bus,
    { subject: 'admin', role: 'SUPER_ADMIN' },
    {
      name: 'G members',
      connectorId,
      entitlementIds: [e.id],
      reviewers: 'MANAGER',
      fallbackSubjects: ['fallback-1'],
      dueAt: new Date(clock.getTime() + 3 * DAY),
      undecided: 'REVOKE',
    },
  );
  reviewId = r.review.id;
});
afterAll(async () => h?.close());

describe('access-review loop', () => {
  it('parses REVIEW_REMINDER_BEFORE as seconds or with a unit', () => {
    const base = { DATABASE_URL: 'postgres://x', NATS_URL: 'nats://x', WARDEN_SECRET_KEYS: h.env.WARDEN_SECRET_KEYS };
    expect(parseEnvironment(base).REVIEW_REMINDER_BEFORE).toBe(86_400);
    expect(parseEnvironment({ ...base, REVIEW_REMINDER_BEFORE: '90m' }).REVIEW_REMINDER_BEFORE).toBe(5_400);
    expect(parseEnvironment({ ...base, REVIEW_REMINDER_BEFORE: '3600' }).REVIEW_REMINDER_BEFORE).toBe(3_600);
    expect(() => parseEnvironment({ ...base, REVIEW_REMINDER_BEFORE: 'soon' })).toThrow(/REVIEW_REMINDER_BEFORE/);
  });

  it('tells each reviewer with pending items once per phase: at start, before dueAt, at escalation', async () => {
    const worker = await h.start({}, { manual: true, now: () => clock });
    await worker.runNow(['access-reviews']);
    await worker.runNow(['access-reviews']);
    const boss = await h.tdb.db.selectFrom('resources').select('id').where('external_id', '=', 'boss').executeTakeFirstOrThrow();
    const started = await notifications('review.started');
    expect(started.map((n) => [n.dedupe_key, n.recipients])).toEqual([
      [`access-review:${reviewId}:started:r:${boss.id}`, [{ subject: null, resourceId: boss.id }]],
      [`access-review:${reviewId}:started:s:fallback-1`, [{ subject: 'fallback-1', resourceId: null }]],
    ]);
    expect(started[0]!.title).toBe("Access review 'G members': 2 items to review");
    expect(await notifications('review.reminder')).toHaveLength(0);

    clock = new Date(clock.getTime() + 2 * DAY + 60_000); // 23h59m before dueAt (default 24h)
    await worker.runNow(['access-reviews']);
    await worker.runNow(['access-reviews']);
    expect(await notifications('review.reminder')).toHaveLength(2);
    expect(await notifications('review.escalated')).toHaveLength(0);

    clock = new Date(clock.getTime() + 22 * 3_600_000); // 1h59m before dueAt (default 2h)
    await worker.runNow(['access-reviews']);
    const escalated = await notifications('review.escalated');
    // The two reviewers, and one notice to the fallback subjects and the connector's owners.
    expect(escalated.map((n) => n.dedupe_key)).toContain(`access-review:${reviewId}:escalated:owners`);
    expect(escalated.find((n) => n.dedupe_key.endsWith(':owners'))!.recipients).toEqual([
      { subject: 'fallback-1', resourceId: null },
      { subject: 'owner-1', resourceId: null },
    ]);
    expect(escalated).toHaveLength(3);
    await worker.close();
  });

  it('completes the review at dueAt in a worker started after the first stopped, and follows its revokes to COMPLETED', async () => {
    clock = new Date(clock.getTime() + 3 * 3_600_000); // past dueAt
    const worker = await h.start({}, { manual: true, now: () => clock });
    await worker.runNow(['access-reviews']);
    const review = await h.tdb.db.selectFrom('access_reviews').selectAll().where('id', '=', reviewId).executeTakeFirstOrThrow();
    expect([review.status, review.completed_by]).toEqual(['COMPLETING', 'system']);
    const items = await h.tdb.db.selectFrom('access_review_items').selectAll().where('review_id', '=', reviewId).execute();
    expect(items.map((i) => [i.decision, i.decided_by])).toEqual([
      ['REVOKE', 'system'],
      ['REVOKE', 'system'],
      ['REVOKE', 'system'],
    ]);
    await worker.runNow(['access-reviews']);
    const tasks = await h.tdb.db.selectFrom('provisioning_tasks').selectAll().execute();
    expect(tasks).toHaveLength(3);
    expect(tasks.every((t) => t.action === 'REVOKE' && t.requested_by === 'system')).toBe(true);
    // The provision worker carries them out.
    await h.tdb.db.updateTable('provisioning_tasks').set({ status: 'SUCCEEDED', completed_at: new Date() }).execute();
    await worker.runNow(['access-reviews']);
    const done = await h.tdb.db
      .selectFrom('access_reviews')
      .select(['status', 'remediated_at'])
      .where('id', '=', reviewId)
      .executeTakeFirstOrThrow();
    expect(done.status).toBe('COMPLETED');
    expect(done.remediated_at).not.toBeNull();
    await worker.close();
  });
});
