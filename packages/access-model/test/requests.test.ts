import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestBus, type TestBus } from '@warden/bus/testing';
import type { AccessRequestRow } from '@warden/database';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import {
  AccessRequestError,
  cancelAccessRequest,
  decideAccessRequest,
  enforceStepDeadlines,
  followAccessRequests,
  noticeExpiringAccess,
  requestAccess,
  requestTaskKey,
  setAccessPolicy,
  type RequestDeps,
} from '../src';

// The workflow against real Postgres and NATS: a small directory seeded by hand (alice reports to
// bob, dave has no manager, carol owns the group), decisions made as the people who would sign in.

let tdb: TestDatabase;
let tbus: TestBus;
let deps: RequestDeps;
// The workflow's clock; kept at or after the real one, since a grant's expiry must lie in the future.
let clock = new Date();
const TENANT = '11111111-1111-1111-1111-111111111111';
let connectorId = '';
const ids: Record<string, string> = {};
const ent: Record<string, string> = {};

const actor = (subject: string, oid: string | null = null) => ({ subject, oid });
const alice = actor('sub-alice', 'oid-alice');
const bob = actor('sub-bob', 'oid-bob');
const carol = actor('sub-carol', 'oid-carol');
const dave = actor('sub-dave', 'oid-dave');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    if (err instanceof AccessRequestError) return `${err.code}: ${err.message}`;
    throw err;
  }
}

async function policy(
  entitlement: string | null,
  steps: { kind: 'MANAGER' | 'RESOURCE_OWNER' | 'CONNECTOR_OWNER' | 'USERS'; subjects?: string[] }[],
  more: Record<string, unknown> = {},
) {
  return setAccessPolicy(
    deps.db,
    { subject: 'admin' },
    { connectorId, entitlementId: entitlement, requestable: true, steps, maxDurationSeconds: 3600, ...more },
  );
}

async function audit(action: string, requestId: string) {
  return deps.db
    .selectFrom('audit_events')
    .selectAll()
    .where('action', '=', action)
    .where(({ eb, ref }) => eb(eb.fn('jsonb_extract_path_text', [ref('details'), eb.val('requestId')]), '=', requestId))
    .execute();
}

beforeAll(async () => {
  tdb = await createTestDatabase('requests_test');
  tbus = await createTestBus();
  deps = { db: tdb.db, bus: tbus.bus, now: () => clock };
  const c = await tdb.db
    .insertInto('connectors')
    .values({ display_name: 'Contoso', auth_method: 'CLIENT_SECRET', tenant_id: TENANT, owners: ['owner-1'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  connectorId = c.id;
  const user = async (name: string, managerId?: string) => {
    const r = await tdb.db
      .insertInto('resources')
      .values({
        connector_id: connectorId,
        type: 'USER',
        external_id: `oid-${name}`,
        display_name: name,
        profile: JSON.stringify(managerId ? { managerId } : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[name] = r.id;
  };
  await user('bob');
  await user('carol');
  await user('alice', 'oid-bob');
  await user('dave');
  await user('erin', 'oid-bob');
  await tdb.db
    .insertInto('resources')
    .values({ connector_id: connectorId, type: 'GROUP', external_id: 'g1', display_name: 'Sales', profile: '{}' })
    .execute();
  for (const [slug, grantable] of [
    ['member', true],
    ['owner', true],
  ] as const) {
    const e = await tdb.db
      .insertInto('entitlements')
      .values({
        connector_id: connectorId,
        key: `GROUP:g1:${slug}`,
        resource_external_id: 'g1',
        resource_type: 'GROUP',
        slug,
        display_name: `${slug} of Sales`,
        grantable,
        metadata: JSON.stringify({ unifiedGroup: false }),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ent[slug] = e.id;
  }
  const dyn = await tdb.db
    .insertInto('entitlements')
    .values({
      connector_id: connectorId,
      key: 'GROUP:g2:member',
      resource_external_id: 'g2',
      resource_type: 'GROUP',
      slug: 'member',
      display_name: 'member of Dynamic',
      grantable: false,
      metadata: '{}',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  ent['dynamic'] = dyn.id;
  await tdb.db
    .insertInto('grants')
    .values({
      connector_id: connectorId,
      entitlement_key: 'GROUP:g1:owner',
      principal_external_id: 'oid-carol',
      principal_kind: 'USER',
      direct: true,
    })
    .execute();
});

afterAll(async () => {
  await tbus?.destroy();
  await tdb?.drop();
});

beforeEach(async () => {
  clock = new Date(Math.max(clock.getTime(), Date.now()) + 1_000);
  // Each test starts without open requests (the one-open-request rule would otherwise chain them).
  await tdb.db
    .updateTable('access_requests')
    .set({ status: 'CANCELLED', current_step: null })
    .where('status', 'in', ['PENDING', 'APPROVED'])
    .execute();
  await tdb.db.deleteFrom('access_policies').where('entitlement_id', 'is not', null).execute();
  await tdb.db.deleteFrom('grants').where('entitlement_key', '=', 'GROUP:g1:member').execute();
});

describe('policies', () => {
  it('every connector has a default policy that is not requestable; changes are audited with before and after', async () => {
    expect(
      await code(requestAccess(deps, alice, { entitlementId: ent['member']!, principalId: ids['alice']!, justification: 'sales work' })),
    ).toMatch(/^FORBIDDEN: 'member of Sales' is not requestable/);
    const p = await policy(ent['member']!, [{ kind: 'MANAGER', subjects: ['fallback-1'] }]);
    const rows = await tdb.db.selectFrom('audit_events').selectAll().where('action', '=', 'access_policy.set').execute();
    const last = rows.find((r) => r.details['policyId'] === p.id);
    expect(last?.details).toMatchObject({
      before: null,
      after: { requestable: true, steps: [{ kind: 'MANAGER', subjects: ['fallback-1'] }], maxDurationSeconds: 3600 },
    });
    await policy(ent['member']!, [], { maxDurationSeconds: null });
    const again = await tdb.db.selectFrom('audit_events').selectAll().where('action', '=', 'access_policy.set').execute();
    expect(again.at(-1)?.details).toMatchObject({
      before: { steps: [{ kind: 'MANAGER' }] },
      after: { steps: [], maxDurationSeconds: null },
    });
  });

  it('refuses a requestable policy on an entitlement Graph cannot grant, and a USERS step without users', async () => {
    expect(await code(policy(ent['dynamic']!, []))).toMatch(/^BAD_USER_INPUT: 'member of Dynamic' is not grantable/);
    expect(await code(policy(ent['member']!, [{ kind: 'USERS' }]))).toMatch(
      /^BAD_USER_INPUT: step 0: a USERS step needs at least one subject/,
    );
  });
});

describe('requests', () => {
  it('validates duration, direct holdings, open requests and idempotency keys with coded errors', async () => {
    await policy(ent['member']!, [{ kind: 'MANAGER', subjects: ['fb'] }], { requireDuration: true, maxDurationSeconds: 600 });
    const base = { entitlementId: ent['member']!, principalId: ids['alice']!, justification: 'sales work' };
    expect(await code(requestAccess(deps, alice, base))).toMatch(/^BAD_USER_INPUT: .*needs a duration/);
    expect(await code(requestAccess(deps, alice, { ...base, durationSeconds: 601 }))).toMatch(
      /^BAD_USER_INPUT: durationSeconds must be at most 600/,
    );
    const first = await requestAccess(deps, alice, { ...base, durationSeconds: 600, idempotencyKey: 'k1' });
    expect(first.status).toBe('PENDING');
    expect(await requestAccess(deps, alice, { ...base, durationSeconds: 600, idempotencyKey: 'k1' })).toMatchObject({ id: first.id });
    expect(await code(requestAccess(deps, alice, { ...base, durationSeconds: 300, idempotencyKey: 'k1' }))).toMatch(
      /^CONFLICT: this idempotency key was already used for a different request \(different durationSeconds\)/,
    );
    expect(await code(requestAccess(deps, alice, { ...base, durationSeconds: 300 }))).toBe(
      `CONFLICT: access request ${first.id} for 'member of Sales' and this principal is already PENDING`,
    );
    await tdb.db
      .insertInto('grants')
      .values({
        connector_id: connectorId,
        entitlement_key: 'GROUP:g1:member',
        principal_external_id: 'oid-erin',
        principal_kind: 'USER',
        direct: true,
      })
      .execute();
    expect(await code(requestAccess(deps, erinActor(), { ...base, principalId: ids['erin']!, durationSeconds: 60 }))).toBe(
      "CONFLICT: erin already holds 'member of Sales' directly (synced from Entra, permanently)",
    );
  });

  it('MANAGER: the manager approves; the requester, the principal and strangers may not; approval provisions with expiresAt = approval + duration', async () => {
    await policy(ent['member']!, [{ kind: 'MANAGER', subjects: ['fb'] }]);
    const r = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'q4',
      durationSeconds: 600,
    });
    expect(r.approvers).toEqual([{ subject: null, resourceId: ids['bob'], oid: 'oid-bob', displayName: 'bob' }]);
    expect(await code(decideAccessRequest(deps, r.id, alice, { approved: true }))).toBe('FORBIDDEN: nobody decides their own request');
    // An admin requesting for alice: alice (the principal) still may not approve.
    expect(await code(decideAccessRequest(deps, r.id, carol, { approved: true }))).toMatch(
      /^FORBIDDEN: you are not an approver of step 1 of 1 \(MANAGER\)/,
    );
    const notes = await tdb.db.selectFrom('notifications').selectAll().where('dedupe_key', 'like', `access-request:${r.id}:%`).execute();
    expect(notes.map((n) => n.kind)).toEqual(['request.awaiting_decision']);
    expect(notes[0]!.recipients).toEqual([{ subject: null, resourceId: ids['bob'] }]);

    clock = new Date(clock.getTime() + 5_000);
    const approved = await decideAccessRequest(deps, r.id, bob, { approved: true, comment: 'ok' });
    expect(approved.status).toBe('APPROVED');
    expect(new Date(approved.expires_at as Date).getTime()).toBe(clock.getTime() + 600_000);
    const task = await tdb.db
      .selectFrom('provisioning_tasks')
      .selectAll()
      .where('id', '=', approved.provisioning_task_id!)
      .executeTakeFirstOrThrow();
    expect(task).toMatchObject({
      action: 'GRANT',
      namespace: 'system',
      requested_by: 'system',
      idempotency_key: requestTaskKey(r.id),
      principal_id: ids['alice'],
    });
    expect(new Date(task.expires_at as Date).getTime()).toBe(clock.getTime() + 600_000);
    expect(await code(decideAccessRequest(deps, r.id, bob, { approved: true }))).toMatch(/^CONFLICT: access request .* is APPROVED/);
    expect((await audit('access_request.approved', r.id))[0]).toMatchObject({ actor: 'sub-bob' });
  });

  it('two steps (MANAGER then RESOURCE_OWNER), each with its own approvers; the first denial ends a request', async () => {
    await policy(ent['member']!, [{ kind: 'MANAGER' }, { kind: 'RESOURCE_OWNER', subjects: ['fb'] }]);
    const r = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'two',
      durationSeconds: 60,
    });
    const s1 = await decideAccessRequest(deps, r.id, bob, { approved: true });
    expect(s1).toMatchObject({ status: 'PENDING', current_step: 1 });
    expect(s1.approvers.map((a) => a.displayName)).toEqual(['carol']);
    expect(await code(decideAccessRequest(deps, r.id, bob, { approved: true }))).toMatch(
      /^CONFLICT: access request .* has moved on to step 2 of 2 \(RESOURCE_OWNER\), which you do not decide/,
    );
    const done = await decideAccessRequest(deps, r.id, carol, { approved: true });
    expect(done.status).toBe('APPROVED');
    const decisions = await tdb.db
      .selectFrom('access_request_decisions')
      .selectAll()
      .where('request_id', '=', r.id)
      .orderBy('step')
      .execute();
    expect(decisions.map((d) => [d.step, d.actor, d.approved])).toEqual([
      [0, 'sub-bob', true],
      [1, 'sub-carol', true],
    ]);

    const d = await requestAccess(deps, erinActor(), {
      entitlementId: ent['member']!,
      principalId: ids['erin']!,
      justification: 'deny me',
      durationSeconds: 60,
    });
    const denied = await decideAccessRequest(deps, d.id, bob, { approved: false, comment: 'not needed' });
    expect(denied).toMatchObject({ status: 'DENIED', current_step: null, status_reason: 'not needed', approvers: [] });
  });

  it('falls back when there is no manager, and when the rule resolves only to the requester or the principal', async () => {
    await policy(ent['member']!, [{ kind: 'MANAGER', subjects: ['fb-1', 'sub-dave'] }]);
    const r = await requestAccess(deps, dave, {
      entitlementId: ent['member']!,
      principalId: ids['dave']!,
      justification: 'no manager',
      durationSeconds: 60,
    });
    // dave has no manager; the fallback minus dave himself decides.
    expect(r.approvers).toEqual([{ subject: 'fb-1', resourceId: null, oid: null, displayName: 'fb-1' }]);
    await cancelAccessRequest(deps, r.id, dave);
    // bob requests for alice, whose manager is bob: the rule resolves only to the requester.
    const s = await requestAccess(deps, bob, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'for alice',
      durationSeconds: 60,
    });
    expect(s.approvers.map((a) => a.subject)).toEqual(['fb-1', 'sub-dave']);
    expect(await code(decideAccessRequest(deps, s.id, bob, { approved: true }))).toBe('FORBIDDEN: nobody decides their own request');
    expect(await code(decideAccessRequest(deps, s.id, alice, { approved: true }))).toBe(
      'FORBIDDEN: nobody decides about access for themselves',
    );
  });

  it('cancel: only while PENDING', async () => {
    await policy(ent['member']!, [{ kind: 'MANAGER', subjects: ['fb'] }]);
    const r = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'c',
      durationSeconds: 60,
    });
    expect((await cancelAccessRequest(deps, r.id, alice)).status).toBe('CANCELLED');
    expect(await code(cancelAccessRequest(deps, r.id, alice))).toMatch(/^CONFLICT: .* is CANCELLED/);
    expect(await code(decideAccessRequest(deps, r.id, bob, { approved: true }))).toMatch(/^CONFLICT/);
  });

  it('two approvers of one step approving at once approve it once', async () => {
    await policy(ent['member']!, [
      { kind: 'USERS', subjects: ['x', 'y'] },
      { kind: 'USERS', subjects: ['z'] },
    ]);
    for (let round = 0; round < 5; round++) {
      const r = await requestAccess(deps, alice, {
        entitlementId: ent['member']!,
        principalId: ids['alice']!,
        justification: `race ${round}`,
        durationSeconds: 60,
      });
      const outcomes = await Promise.all([
        code(decideAccessRequest(deps, r.id, actor('x'), { approved: true })),
        code(decideAccessRequest(deps, r.id, actor('y'), { approved: true })),
      ]);
      expect(outcomes.filter((o) => o === 'OK')).toHaveLength(1);
      expect(outcomes.filter((o) => o.startsWith('CONFLICT'))).toHaveLength(1);
      const decisions = await tdb.db.selectFrom('access_request_decisions').select('actor').where('request_id', '=', r.id).execute();
      expect(decisions).toHaveLength(1);
      expect((await audit('access_request.step_approved', r.id)).length).toBe(1);
      await cancelAccessRequest(deps, r.id, alice);
    }
  });

  it('an empty policy approves at once (audited)', async () => {
    await policy(ent['member']!, []);
    const r = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'auto',
      durationSeconds: 60,
    });
    expect(r.status).toBe('APPROVED');
    expect(r.provisioning_task_id).not.toBeNull();
    expect(await audit('access_request.approved', r.id)).toHaveLength(1);
  });
});

describe('timers', () => {
  const HOUR = 3_600_000;

  it('escalates a step with no decision to the fallback once, then denies it with a reason', async () => {
    await policy(ent['member']!, [{ kind: 'MANAGER', subjects: ['fb-1'] }]);
    const r = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'slow',
      durationSeconds: 60,
    });
    expect(await enforceStepDeadlines(deps, 72 * HOUR)).toBe(0);
    clock = new Date(clock.getTime() + 72 * HOUR);
    // Two replicas at once: one escalation.
    expect(
      (await Promise.all([enforceStepDeadlines(deps, 72 * HOUR), enforceStepDeadlines(deps, 72 * HOUR)])).reduce((a, b) => a + b),
    ).toBe(1);
    const escalated = await tdb.db.selectFrom('access_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
    expect(escalated).toMatchObject({ status: 'PENDING', current_step: 0, approver_subjects: ['fb-1'] });
    expect(await enforceStepDeadlines(deps, 72 * HOUR)).toBe(0);
    // bob (the manager) was replaced by the fallback: too late, not unauthorised; strangers stay FORBIDDEN.
    expect(await code(decideAccessRequest(deps, r.id, bob, { approved: true }))).toMatch(/^CONFLICT: .* has moved on/);
    expect(await code(decideAccessRequest(deps, r.id, carol, { approved: true }))).toMatch(/^FORBIDDEN: you are not an approver/);
    clock = new Date(clock.getTime() + 72 * HOUR);
    expect(await enforceStepDeadlines(deps, 72 * HOUR)).toBe(1);
    const denied = await tdb.db.selectFrom('access_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
    expect(denied.status).toBe('DENIED');
    expect(denied.status_reason).toMatch(/no decision on step 1 of 1 \(MANAGER\) within 72 h, nor within 72 h of its escalation/);
    const kinds = (
      await tdb.db.selectFrom('notifications').select('kind').where('dedupe_key', 'like', `access-request:${r.id}:%`).execute()
    ).map((n) => n.kind);
    expect(kinds.sort()).toEqual(['request.awaiting_decision', 'request.decided', 'request.escalated', 'request.escalated']);
  });

  it('follows the grant to ACTIVE or FAILED, warns before expiry once, and ends EXPIRED when the grant is gone', async () => {
    await policy(ent['member']!, []);
    const r = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'follow',
      durationSeconds: 600,
    });
    expect(await followAccessRequests(deps)).toBe(0);
    // What the provision worker writes when the grant succeeded (task row + write-through grant).
    await tdb.db
      .updateTable('provisioning_tasks')
      .set({ status: 'SUCCEEDED', completed_at: clock })
      .where('id', '=', r.provisioning_task_id!)
      .execute();
    await tdb.db
      .insertInto('grants')
      .values({
        connector_id: connectorId,
        entitlement_key: 'GROUP:g1:member',
        principal_external_id: 'oid-alice',
        principal_kind: 'USER',
        direct: true,
        expires_at: r.expires_at,
        source: 'provisioning',
      })
      .execute();
    expect(await followAccessRequests(deps)).toBe(1);
    expect(await followAccessRequests(deps)).toBe(0);
    const active = await tdb.db.selectFrom('access_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
    expect(active.status).toBe('ACTIVE');
    expect(await noticeExpiringAccess(deps, 60_000)).toBe(0);
    clock = new Date(clock.getTime() + 550_000);
    expect((await Promise.all([noticeExpiringAccess(deps, 60_000), noticeExpiringAccess(deps, 60_000)])).reduce((a, b) => a + b)).toBe(1);
    clock = new Date(clock.getTime() + 100_000);
    expect(await followAccessRequests(deps)).toBe(0); // expired, but the grant is still there: not yet revoked
    await tdb.db
      .deleteFrom('grants')
      .where('entitlement_key', '=', 'GROUP:g1:member')
      .where('principal_external_id', '=', 'oid-alice')
      .execute();
    expect(await followAccessRequests(deps)).toBe(1);
    const expired = await tdb.db.selectFrom('access_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
    expect(expired.status).toBe('EXPIRED');
    expect(await audit('access_request.expired', r.id)).toHaveLength(1);

    const f = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'fail',
      durationSeconds: 600,
    });
    await tdb.db
      .updateTable('provisioning_tasks')
      .set({ status: 'FAILED', error: 'Graph said no', completed_at: clock })
      .where('id', '=', f.provisioning_task_id!)
      .execute();
    await followAccessRequests(deps);
    expect(
      await tdb.db.selectFrom('access_requests').select(['status', 'status_reason']).where('id', '=', f.id).executeTakeFirstOrThrow(),
    ).toEqual({
      status: 'FAILED',
      status_reason: 'Graph said no',
    });
  });

  it('ends EXPIRED a time-bound request whose principal already held the access permanently (its grant kept no expiry)', async () => {
    // Regression (chaos suite): the request was accepted while a permanent grant of the same access was
    // still running; its own grant then found the access held (heldBefore) and left it permanent, so no
    // expiry revoke ever comes and a direct grant stays — the request must still end at its time.
    await policy(ent['member']!, []);
    const r = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'held before',
      durationSeconds: 600,
    });
    await tdb.db
      .updateTable('provisioning_tasks')
      .set({ status: 'SUCCEEDED', completed_at: clock })
      .where('id', '=', r.provisioning_task_id!)
      .execute();
    await tdb.db
      .insertInto('grants')
      .values({
        connector_id: connectorId,
        entitlement_key: 'GROUP:g1:member',
        principal_external_id: 'oid-alice',
        principal_kind: 'USER',
        direct: true,
        expires_at: null,
        source: 'provisioning',
      })
      .execute();
    expect(await followAccessRequests(deps)).toBe(1);
    expect((await tdb.db.selectFrom('access_requests').select('status').where('id', '=', r.id).executeTakeFirstOrThrow()).status).toBe(
      'ACTIVE',
    );
    expect(await followAccessRequests(deps)).toBe(0); // before its end: stays ACTIVE
    clock = new Date(clock.getTime() + 601_000);
    expect(await followAccessRequests(deps)).toBe(1);
    expect((await tdb.db.selectFrom('access_requests').select('status').where('id', '=', r.id).executeTakeFirstOrThrow()).status).toBe(
      'EXPIRED',
    );
    // The permanent access stays: the request's end revokes nothing it did not give.
    expect(
      await tdb.db
        .selectFrom('grants')
        .select('expires_at')
        .where('entitlement_key', '=', 'GROUP:g1:member')
        .where('principal_external_id', '=', 'oid-alice')
        .where('direct', '=', true)
        .executeTakeFirst(),
    ).toEqual({ expires_at: null });
    await tdb.db.deleteFrom('grants').where('entitlement_key', '=', 'GROUP:g1:member').execute();
  });

  it('hands an approved request whose grant was never requested (a crash in between) to provisioning exactly once', async () => {
    await policy(ent['member']!, [{ kind: 'MANAGER', subjects: ['fb'] }]);
    const r = await requestAccess(deps, alice, {
      entitlementId: ent['member']!,
      principalId: ids['alice']!,
      justification: 'crash',
      durationSeconds: 600,
    });
    // The approval committed; the process died before requestSystemProvisioning.
    const approvedAt = clock;
    await tdb.db
      .updateTable('access_requests')
      .set({
        status: 'APPROVED',
        current_step: null,
        approved_at: approvedAt,
        expires_at: new Date(Date.now() + 600_000),
        approvers: '[]',
        approver_subjects: [],
        approver_oids: [],
      })
      .where('id', '=', r.id)
      .execute();
    clock = new Date(clock.getTime() + 5_000);
    await Promise.all([followAccessRequests(deps), followAccessRequests(deps)]);
    const tasks = await tdb.db.selectFrom('provisioning_tasks').select('id').where('idempotency_key', '=', requestTaskKey(r.id)).execute();
    expect(tasks).toHaveLength(1);
    const row: AccessRequestRow = await tdb.db.selectFrom('access_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
    expect(row.provisioning_task_id).toBe(tasks[0]!.id);
  });
});

function erinActor() {
  return actor('sub-erin', 'oid-erin');
}
