import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBus, type TestBus } from '@warden/bus/testing';
import type { AccessReviewUpdated } from '@warden/bus';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import {
  cancelAccessReview,
  completeAccessReview,
  createAccessReview,
  decideReviewItems,
  finishRemediation,
  pendingReviewers,
  remediateReview,
  retryRemediations,
  reviewTick,
  ReviewError,
  verifyRemediations,
  type ReviewActor,
} from '../src/index';

// A small tenant, built by hand so every recommendation has one cause:
//   manager m1 has six reports u1..u6; only u1 holds app role `Reader` (a peer outlier: 0 of 5 peers),
//   all six are members of group G. u2 is disabled, u3 last signed in 112 days ago, u4 never signed in,
//   u5 and u6 signed in yesterday. u7 has no manager. Group N (nested) is a member of G; u8 inherits
//   G through N. Owners: o1 owns G.
const TENANT = '11111111-2222-3333-4444-555555555555';
let t: TestDatabase;
let tb: TestBus;
let connectorId: string;
const ent: Record<string, string> = {};
const res: Record<string, string> = {};
const events: AccessReviewUpdated[] = [];
const admin: ReviewActor = { subject: 'admin-1', role: 'SUPER_ADMIN' };
const asUser = (oid: string): ReviewActor => ({ subject: `sub-${oid}`, role: 'MEMBER', tid: TENANT, oid });
const dueAt = () => new Date(Date.now() + 86_400_000);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();

async function expectReviewError(p: Promise<unknown>, code: string): Promise<ReviewError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReviewError);
  expect((err as ReviewError).code).toBe(code);
  return err as ReviewError;
}

beforeAll(async () => {
  t = await createTestDatabase('warden_reviews');
  tb = await createTestBus();
  tb.bus.subscribeAccessReviewUpdated('*', (e) => events.push(e));
  const c = await t.db
    .insertInto('connectors')
    .values({ display_name: 'Contoso', tenant_id: TENANT, auth_method: 'CLIENT_SECRET', owners: ['owner-1'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  connectorId = c.id;
  const user = (id: string, profile: Record<string, unknown>) => ({ id, type: 'USER' as const, profile });
  const signedIn = (iso: string | null) => ({ lastSignInDateTime: iso, lastNonInteractiveSignInDateTime: null });
  const people = [
    user('m1', { accountEnabled: true, ...signedIn(daysAgo(1)) }),
    user('u1', { accountEnabled: true, managerId: 'm1', ...signedIn(daysAgo(1)) }),
    user('u2', { accountEnabled: false, managerId: 'm1', ...signedIn(daysAgo(1)) }),
    user('u3', { accountEnabled: true, managerId: 'm1', ...signedIn(daysAgo(112.2)) }),
    user('u4', { accountEnabled: true, managerId: 'm1', ...signedIn(null) }),
    user('u5', { accountEnabled: true, managerId: 'm1', ...signedIn(daysAgo(1)) }),
    user('u6', { accountEnabled: true, managerId: 'm1', ...signedIn(daysAgo(1)) }),
    user('u7', { accountEnabled: true }),
    user('u8', { accountEnabled: true, managerId: 'm1' }),
    user('o1', { accountEnabled: true }),
  ];
  for (const p of [
    ...people,
    { id: 'G', type: 'GROUP' as const, profile: {} },
    { id: 'N', type: 'GROUP' as const, profile: {} },
    { id: 'A', type: 'ENTERPRISE_APPLICATION' as const, profile: {} },
  ]) {
    const r = await t.db
      .insertInto('resources')
      .values({ connector_id: connectorId, type: p.type, external_id: p.id, display_name: p.id, profile: JSON.stringify(p.profile) })
      .returning('id')
      .executeTakeFirstOrThrow();
    res[p.id] = r.id;
  }
  for (const [key, type, ext, slug] of [
    ['GROUP:G:member', 'GROUP', 'G', 'member'],
    ['GROUP:G:owner', 'GROUP', 'G', 'owner'],
    ['GROUP:N:member', 'GROUP', 'N', 'member'],
    ['ENTERPRISE_APPLICATION:A:Reader', 'ENTERPRISE_APPLICATION', 'A', 'Reader'],
  ] as const) {
    const e = await t.db
      .insertInto('entitlements')
      .values({
        connector_id: connectorId,
        key,
        resource_type: type,
        resource_external_id: ext,
        slug,
        display_name: key,
        metadata: JSON.stringify({ allowedMemberTypes: ['User', 'Group'] }),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ent[key] = e.id;
  }
  const grant = (key: string, principal: string, kind: 'USER' | 'GROUP', direct = true, via: string[] = []) => ({
    connector_id: connectorId,
    entitlement_key: key,
    principal_external_id: principal,
    principal_kind: kind,
    direct,
    via,
  });
  await t.db
    .insertInto('grants')
    .values([
      ...['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((u) => grant('GROUP:G:member', u, 'USER')),
      grant('GROUP:G:member', 'N', 'GROUP'),
      grant('GROUP:N:member', 'u8', 'USER'),
      grant('GROUP:G:member', 'u8', 'USER', false, ['GROUP:N:member']),
      grant('GROUP:G:owner', 'o1', 'USER'),
      grant('ENTERPRISE_APPLICATION:A:Reader', 'u1', 'USER'),
      grant('ENTERPRISE_APPLICATION:A:Reader', 'u7', 'USER'),
    ])
    .execute();
});

afterAll(async () => {
  await tb?.destroy();
  await t?.drop();
});

async function itemsOf(reviewId: string) {
  const rows = await t.db.selectFrom('access_review_items').selectAll().where('review_id', '=', reviewId).execute();
  return Object.fromEntries(rows.map((r) => [`${r.entitlement_key}|${r.principal_external_id}`, r]));
}

describe('createAccessReview', () => {
  it('snapshots every direct grant in scope with MANAGER reviewers, fallback and recommendations with their evidence', async () => {
    const { review, items } = await createAccessReview(t.db, tb.bus, admin, {
      name: 'Q4 G and Reader',
      connectorId,
      entitlementIds: [ent['GROUP:G:member']!, ent['ENTERPRISE_APPLICATION:A:Reader']!],
      reviewers: 'MANAGER',
      fallbackSubjects: ['fallback-1'],
      dueAt: dueAt(),
      inactiveDays: 30,
    });
    expect(review.status).toBe('ACTIVE');
    expect(items).toBe(9); // 6 users + N in G, u1 + u7 on Reader; u8's inherited grant is reviewed through N
    const by = await itemsOf(review.id);
    expect(Object.keys(by).sort()).toEqual(
      [
        ...['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'N'].map((p) => `GROUP:G:member|${p}`),
        'ENTERPRISE_APPLICATION:A:Reader|u1',
        'ENTERPRISE_APPLICATION:A:Reader|u7',
      ].sort(),
    );
    const g = (p: string) => by[`GROUP:G:member|${p}`]!;
    expect(g('u1').reviewer_oids).toEqual(['m1']);
    expect(g('u1').fallback).toBe(false);
    // No manager (u7) and a group principal (N): the fallback decides.
    expect(by['ENTERPRISE_APPLICATION:A:Reader|u7']!.reviewer_subjects).toEqual(['fallback-1']);
    expect(by['ENTERPRISE_APPLICATION:A:Reader|u7']!.fallback).toBe(true);
    expect(g('N').reviewer_subjects).toEqual(['fallback-1']);

    expect([g('u2').recommendation, g('u2').recommendation_reason]).toEqual(['REVOKE', 'account disabled']);
    expect([g('u3').recommendation, g('u3').recommendation_reason]).toEqual(['REVOKE', 'no sign-in for 112 days']);
    expect([g('u4').recommendation, g('u4').recommendation_reason]).toEqual(['REVOKE', 'never signed in']);
    expect(g('u5').recommendation).toBe('KEEP');
    expect(g('u5').recommendation_reason).toBe('signed in 1 day ago; 6 of 6 peers with the same manager hold it');
    expect(g('u3').last_sign_in_at?.getTime()).toBeLessThan(Date.now() - 112 * 86_400_000);
    // u1 is the only one of m1's six reports (and u8) holding Reader: 0 of 6 peers.
    const reader = by['ENTERPRISE_APPLICATION:A:Reader|u1']!;
    expect([reader.recommendation, reader.recommendation_reason]).toEqual(['REVOKE', '0 of 6 peers with the same manager hold it']);
    // N's membership in G carries u8.
    expect(g('N').inherited_count).toBe(1);
    expect(g('N').recommendation_reason).toBe('1 principal holds it through this group');
  });

  it('resolves RESOURCE_OWNER, CONNECTOR_OWNER and USERS, and the creator never reviews their own access', async () => {
    const owners = await createAccessReview(t.db, tb.bus, admin, {
      name: 'owners',
      connectorId,
      resourceTypes: ['GROUP'],
      reviewers: 'RESOURCE_OWNER',
      fallbackSubjects: ['fb'],
      dueAt: dueAt(),
    });
    const byOwner = await itemsOf(owners.review.id);
    expect(byOwner['GROUP:G:member|u1']!.reviewer_oids).toEqual(['o1']);
    // o1 owns G: nobody else owns it, so o1's own ownership goes to the fallback.
    expect(byOwner['GROUP:G:owner|o1']!.reviewer_oids).toEqual([]);
    expect(byOwner['GROUP:G:owner|o1']!.reviewer_subjects).toEqual(['fb']);
    // N has no owners.
    expect(byOwner['GROUP:N:member|u8']!.reviewer_subjects).toEqual(['fb']);

    const creator: ReviewActor = { subject: 'sub-u1', role: 'SUPER_ADMIN', tid: TENANT, oid: 'u1' };
    const users = await createAccessReview(t.db, tb.bus, creator, {
      name: 'users',
      connectorId,
      entitlementIds: [ent['ENTERPRISE_APPLICATION:A:Reader']!],
      reviewers: 'USERS',
      fallbackSubjects: ['sub-u1', 'rev-2'],
      dueAt: dueAt(),
    });
    const byUsers = await itemsOf(users.review.id);
    expect(byUsers['ENTERPRISE_APPLICATION:A:Reader|u1']!.reviewer_subjects).toEqual(['rev-2']);
    expect(byUsers['ENTERPRISE_APPLICATION:A:Reader|u7']!.reviewer_subjects).toEqual(['sub-u1', 'rev-2']);

    const conn = await createAccessReview(t.db, tb.bus, admin, {
      name: 'connector owners',
      connectorId,
      entitlementIds: [ent['ENTERPRISE_APPLICATION:A:Reader']!],
      reviewers: 'CONNECTOR_OWNER',
      fallbackSubjects: ['fb'],
      dueAt: dueAt(),
    });
    expect(Object.values(await itemsOf(conn.review.id)).map((i) => i.reviewer_subjects)).toEqual([['owner-1'], ['owner-1']]);
  });

  it('refuses bad input and callers who do not administer the connector', async () => {
    const base = {
      name: 'x',
      connectorId,
      reviewers: 'MANAGER' as const,
      fallbackSubjects: ['fb'],
      dueAt: dueAt(),
      resourceTypes: ['GROUP' as const],
    };
    await expectReviewError(createAccessReview(t.db, tb.bus, admin, { ...base, resourceTypes: [] }), 'BAD_USER_INPUT');
    await expectReviewError(createAccessReview(t.db, tb.bus, admin, { ...base, fallbackSubjects: [' '] }), 'BAD_USER_INPUT');
    await expectReviewError(createAccessReview(t.db, tb.bus, admin, { ...base, dueAt: new Date(Date.now() - 1000) }), 'BAD_USER_INPUT');
    await expectReviewError(
      createAccessReview(t.db, tb.bus, admin, { ...base, entitlementIds: ['00000000-0000-0000-0000-000000000000'] }),
      'BAD_USER_INPUT',
    );
    await expectReviewError(createAccessReview(t.db, tb.bus, { subject: 'someone', role: 'CONNECTOR_ADMIN' }, base), 'FORBIDDEN');
    await expectReviewError(createAccessReview(t.db, tb.bus, asUser('m1'), base), 'FORBIDDEN');
    await expectReviewError(
      createAccessReview(t.db, tb.bus, admin, { ...base, connectorId: '00000000-0000-0000-0000-000000000000' }),
      'NOT_FOUND',
    );
    expect(await createAccessReview(t.db, tb.bus, { subject: 'owner-1', role: 'CONNECTOR_ADMIN' }, base)).toMatchObject({ items: 9 });
  });
});

describe('deciding, completing and remediating', () => {
  let reviewId: string;
  let by: Awaited<ReturnType<typeof itemsOf>>;

  beforeAll(async () => {
    const { review } = await createAccessReview(t.db, tb.bus, admin, {
      name: 'Decide me',
      connectorId,
      entitlementIds: [ent['GROUP:G:member']!, ent['ENTERPRISE_APPLICATION:A:Reader']!],
      reviewers: 'MANAGER',
      fallbackSubjects: ['fallback-1'],
      dueAt: dueAt(),
      undecided: 'RECOMMENDATION',
    });
    reviewId = review.id;
    by = await itemsOf(reviewId);
  });

  it('a manager decides their reports; all or nothing; nobody decides their own access', async () => {
    const m1 = asUser('m1');
    const u1Item = by['GROUP:G:member|u1']!.id;
    const u5Item = by['GROUP:G:member|u5']!.id;
    const u7Item = by['ENTERPRISE_APPLICATION:A:Reader|u7']!.id;
    const auditBefore = await t.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    // u7 is not m1's report: the whole batch is refused and nothing changes.
    const err = await expectReviewError(decideReviewItems(t.db, tb.bus, m1, [u1Item, u7Item], 'KEEP'), 'FORBIDDEN');
    expect(err.message).toMatch(/not a reviewer/);
    expect((await itemsOf(reviewId))['GROUP:G:member|u1']!.decision).toBeNull();

    const kept = await decideReviewItems(t.db, tb.bus, m1, [u1Item], 'KEEP', 'needs it');
    expect(kept.map((k) => [k.decision, k.decided_by, k.comment, k.decided_by_oid])).toEqual([['KEEP', 'sub-m1', 'needs it', 'm1']]);
    await decideReviewItems(t.db, tb.bus, m1, [u5Item], 'REVOKE');
    // Decisions can change while ACTIVE.
    await decideReviewItems(t.db, tb.bus, m1, [u5Item], 'REVOKE', 'left the project');

    // u1 may not decide its own item even as an admin of the connector.
    await expectReviewError(decideReviewItems(t.db, tb.bus, { ...asUser('u1'), role: 'SUPER_ADMIN' }, [u1Item], 'REVOKE'), 'FORBIDDEN');
    // A member from another tenant with the same oid is not m1.
    await expectReviewError(decideReviewItems(t.db, tb.bus, { ...m1, tid: 'other-tenant' }, [u5Item], 'KEEP'), 'FORBIDDEN');
    // A read-only role is no reviewer; a connector owner decides anything.
    await expectReviewError(decideReviewItems(t.db, tb.bus, { subject: 'viewer', role: 'VIEWER' }, [u7Item], 'KEEP'), 'FORBIDDEN');
    await decideReviewItems(t.db, tb.bus, { subject: 'owner-1', role: 'CONNECTOR_ADMIN' }, [u7Item], 'REVOKE');
    await decideReviewItems(t.db, tb.bus, { subject: 'fallback-1', role: 'MEMBER' }, [u7Item], 'REVOKE');
    await expectReviewError(decideReviewItems(t.db, tb.bus, m1, ['00000000-0000-0000-0000-000000000000'], 'KEEP'), 'NOT_FOUND');

    const auditAfter = await t.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(auditAfter.n) - Number(auditBefore.n)).toBe(5);
    const decided = await t.db
      .selectFrom('audit_events')
      .select(['actor', 'details'])
      .where('action', '=', 'access_review.decided')
      .where(sql<boolean>`details ->> 'itemId' = ${u5Item}`)
      .orderBy('id')
      .execute();
    expect(decided.map((d) => [d.actor, d.details['decision'], d.details['previous'], d.details['actorOid']])).toEqual([
      ['sub-m1', 'REVOKE', null, 'm1'],
      ['sub-m1', 'REVOKE', 'REVOKE', 'm1'],
    ]);
    const pending = await pendingReviewers(t.db, reviewId);
    expect(pending).toEqual([
      { subject: 'fallback-1', resourceId: null, pending: 1 },
      { subject: null, resourceId: res['m1'], pending: 5 },
    ]);
  });

  it('completes with defaults, requests each revoke once even when run twice, and stays COMPLETING until every revoke finished', async () => {
    await expectReviewError(completeAccessReview(t.db, tb.bus, asUser('m1'), reviewId), 'FORBIDDEN');
    const done = await completeAccessReview(t.db, tb.bus, admin, reviewId);
    expect(done.status).toBe('COMPLETING');
    const after = await itemsOf(reviewId);
    // RECOMMENDATION: u2, u3, u4 (REVOKE), u6 and N (KEEP) by the system; the people's decisions stay.
    expect(after['GROUP:G:member|u2']).toMatchObject({ decision: 'REVOKE', decided_by: 'system' });
    expect(after['GROUP:G:member|u6']).toMatchObject({ decision: 'KEEP', decided_by: 'system' });
    expect(after['GROUP:G:member|u1']).toMatchObject({ decision: 'KEEP', decided_by: 'sub-m1' });
    await expectReviewError(decideReviewItems(t.db, tb.bus, asUser('m1'), [after['GROUP:G:member|u1']!.id], 'REVOKE'), 'CONFLICT');
    await expectReviewError(completeAccessReview(t.db, tb.bus, admin, reviewId), 'CONFLICT');
    await expectReviewError(cancelAccessReview(t.db, tb.bus, admin, reviewId), 'CONFLICT');

    // u5, u7 (people), u2, u3, u4 and Reader|u1 (recommendation) are revoked.
    const revokes = Object.values(after).filter((i) => i.decision === 'REVOKE');
    expect(revokes).toHaveLength(6);
    // Two workers at once, then again: one task per item.
    await Promise.all([remediateReview(t.db, tb.bus, reviewId, 3), remediateReview(t.db, tb.bus, reviewId, 3)]);
    await remediateReview(t.db, tb.bus, reviewId);
    await remediateReview(t.db, tb.bus, reviewId);
    const tasks = await t.db.selectFrom('provisioning_tasks').selectAll().where('action', '=', 'REVOKE').execute();
    expect(tasks).toHaveLength(6);
    expect(new Set(tasks.map((x) => x.requested_by))).toEqual(new Set(['system']));
    const linked = await itemsOf(reviewId);
    expect(
      Object.values(linked)
        .filter((i) => i.remediation_task_id)
        .map((i) => i.remediation_task_id)
        .sort(),
    ).toEqual(tasks.map((x) => x.id).sort());
    expect(await finishRemediation(t.db, tb.bus, reviewId)).toBeNull();

    // The provisioning worker's outcome: one fails, the rest succeed.
    const failing = linked['GROUP:G:member|u3']!.remediation_task_id!;
    await t.db
      .updateTable('provisioning_tasks')
      .set({ status: 'FAILED', error: 'Graph said no', completed_at: new Date() })
      .where('id', '=', failing)
      .execute();
    await t.db
      .updateTable('provisioning_tasks')
      .set({ status: 'SUCCEEDED', completed_at: new Date() })
      .where('id', '!=', failing)
      .execute();
    const finished = await finishRemediation(t.db, tb.bus, reviewId);
    expect(finished?.status).toBe('COMPLETED');

    // A failed remediation can be retried: a new task, COMPLETING until it finished.
    expect(await retryRemediations(t.db, tb.bus, admin, reviewId)).toBe(1);
    const retried = (await itemsOf(reviewId))['GROUP:G:member|u3']!;
    expect(retried.remediation_attempts).toBe(1);
    expect(retried.remediation_task_id).not.toBe(failing);
    expect((await t.db.selectFrom('access_reviews').select('status').where('id', '=', reviewId).executeTakeFirstOrThrow()).status).toBe(
      'COMPLETING',
    );
    await t.db
      .updateTable('provisioning_tasks')
      .set({ status: 'SUCCEEDED', completed_at: new Date() })
      .where('id', '=', retried.remediation_task_id!)
      .execute();
    const tick = await reviewTick(t.db, tb.bus);
    expect(tick.finished).toBe(1);
    expect(events.some((e) => e.reviewId === reviewId && e.status === 'COMPLETED')).toBe(true);
  });

  it('flags a revoked grant that is back after the next successful sync, once, in the review and the audit log', async () => {
    // The revokes "happened": their grants are gone, except u5's which someone re-added in Entra.
    const items = await itemsOf(reviewId);
    for (const i of Object.values(items).filter((x) => x.decision === 'REVOKE' && x.principal_external_id !== 'u5'))
      await t.db
        .deleteFrom('grants')
        .where('entitlement_key', '=', i.entitlement_key)
        .where('principal_external_id', '=', i.principal_external_id)
        .execute();
    // No sync since: nothing is verified yet.
    expect(await verifyRemediations(t.db, tb.bus)).toBe(0);
    const later = new Date(Date.now() + 1000);
    await t.db
      .insertInto('sync_runs')
      .values({
        connector_id: connectorId,
        mode: 'INCREMENTAL',
        status: 'SUCCEEDED',
        stats: '{}',
        checkpoint: '{}',
        started_at: later,
        finished_at: later,
      })
      .execute();
    expect(await verifyRemediations(t.db, tb.bus)).toBe(1);
    expect(await verifyRemediations(t.db, tb.bus)).toBe(0);
    const flagged = await t.db
      .selectFrom('access_review_items')
      .select(['principal_external_id'])
      .where('review_id', '=', reviewId)
      .where('regranted_at', 'is not', null)
      .execute();
    expect(flagged.map((f) => f.principal_external_id)).toEqual(['u5']);
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['details'])
      .where('action', '=', 'access_review.regrant_detected')
      .execute();
    expect(audit.map((a) => a.details['principalExternalId'])).toEqual(['u5']);
  });
});

describe('the dueAt timer and cancelling', () => {
  it('completes a review past dueAt with its undecided action, and cancels only ACTIVE reviews', async () => {
    const { review } = await createAccessReview(t.db, tb.bus, admin, {
      name: 'timer',
      connectorId,
      entitlementIds: [ent['GROUP:N:member']!],
      reviewers: 'MANAGER',
      fallbackSubjects: ['fb'],
      dueAt: dueAt(),
      undecided: 'REVOKE',
      autoRevoke: false,
    });
    expect((await reviewTick(t.db, tb.bus)).completed).toBe(0);
    const tick = await reviewTick(t.db, tb.bus, new Date(Date.now() + 2 * 86_400_000));
    // Every ACTIVE review of this file is due by then.
    expect(tick.completed).toBeGreaterThanOrEqual(1);
    const row = await t.db.selectFrom('access_reviews').selectAll().where('id', '=', review.id).executeTakeFirstOrThrow();
    // autoRevoke off: nothing to carry out, so COMPLETED at once.
    expect([row.status, row.completed_by]).toEqual(['COMPLETED', 'system']);
    expect(Object.values(await itemsOf(review.id)).map((i) => [i.decision, i.decided_by])).toEqual([['REVOKE', 'system']]);

    const other = await createAccessReview(t.db, tb.bus, admin, {
      name: 'cancel me',
      connectorId,
      entitlementIds: [ent['GROUP:N:member']!],
      reviewers: 'MANAGER',
      fallbackSubjects: ['fb'],
      dueAt: dueAt(),
    });
    await expectReviewError(cancelAccessReview(t.db, tb.bus, asUser('m1'), other.review.id), 'FORBIDDEN');
    expect((await cancelAccessReview(t.db, tb.bus, admin, other.review.id)).status).toBe('CANCELLED');
    await expectReviewError(cancelAccessReview(t.db, tb.bus, admin, other.review.id), 'CONFLICT');
    await expectReviewError(completeAccessReview(t.db, tb.bus, admin, other.review.id), 'CONFLICT');
  });
});

describe('a campaign whose creating process died', () => {
  it('has its partitions’ items deleted by the timer once the creation is an hour old, and a creation under way is left alone', async () => {
    const item = (reviewId: string, n: number) => ({
      review_id: reviewId,
      connector_id: connectorId,
      entitlement_id: ent['GROUP:G:member']!,
      entitlement_key: 'GROUP:G:member',
      principal_id: res['u1']!,
      principal_external_id: `orphan-${n}`,
      principal_kind: 'USER' as const,
    });
    const dead = '00000000-0000-4000-8000-00000000dead';
    const live = '00000000-0000-4000-8000-0000000011fe';
    await sql`INSERT INTO access_review_creations (review_id, started_at) VALUES (${dead}, now() - interval '61 minutes'), (${live}, now())`.execute(
      t.db,
    );
    await t.db
      .insertInto('access_review_items')
      .values([item(dead, 1), item(dead, 2), item(live, 3)])
      .execute();
    const tick = await reviewTick(t.db, tb.bus);
    expect(tick.abandoned).toBe(1);
    const left = await t.db.selectFrom('access_review_items').select('review_id').where('review_id', 'in', [dead, live]).execute();
    expect(left.map((r) => r.review_id)).toEqual([live]);
    const creations = await sql<{ review_id: string }>`SELECT review_id FROM access_review_creations ORDER BY review_id`.execute(t.db);
    expect(creations.rows.map((r) => r.review_id)).toEqual([live]);
    await sql`DELETE FROM access_review_creations WHERE review_id = ${live}`.execute(t.db);
    await t.db.deleteFrom('access_review_items').where('review_id', '=', live).execute();
  });

  it('deleting a review deletes its items (no foreign key: the trigger of migration 0010)', async () => {
    const { review, items } = await createAccessReview(t.db, tb.bus, admin, {
      name: 'deleted',
      connectorId,
      entitlementIds: [ent['GROUP:G:member']!],
      reviewers: 'MANAGER',
      fallbackSubjects: ['fb'],
      dueAt: dueAt(),
    });
    expect(items).toBeGreaterThan(0);
    // Every partition committed, the creation's bookkeeping row is gone with the creating transaction.
    expect((await sql`SELECT 1 FROM access_review_creations WHERE review_id = ${review.id}`.execute(t.db)).rows).toHaveLength(0);
    await t.db.deleteFrom('access_reviews').where('id', '=', review.id).execute();
    expect(await t.db.selectFrom('access_review_items').select('id').where('review_id', '=', review.id).execute()).toEqual([]);
  });
});
