import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisioningRequested } from '@warden/bus';
import { gid, seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

// Issue 11.5 through GraphQL: idempotency keys belong to the caller on one connector, a repeated
// key with a different request is CONFLICT, nothing a caller sends reaches the system's key
// namespace, and a connector with open time-bound access cannot be deleted (its grant rows are the
// expiry schedule).

let h: Harness;
let f: Fixture;
let alice: string;
let bob: string;
let root: string;
const provisionCommands: ProvisioningRequested[] = [];
const stop = new AbortController();

const GRANT = 'mutation($i: GrantInput!) { grant(input: $i) { id status action requestedBy expiresAt idempotencyKey } }';
const REVOKE = 'mutation($i: RevokeInput!) { revoke(input: $i) { id status action requestedBy idempotencyKey } }';
const DELETE = 'mutation($id: ID!, $r: Boolean) { deleteConnector(id: $id, revokeTimeBoundAccess: $r) }';
type Task = { id: string; status: string; action: string; requestedBy: string; expiresAt: string | null; idempotencyKey: string };

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db, { owners: ['alice', 'bob'], userCount: 20 });
  alice = await h.token('CONNECTOR_ADMIN', 'alice');
  bob = await h.token('CONNECTOR_ADMIN', 'bob');
  root = await h.token('SUPER_ADMIN', 'root');
  // Stand in for the provision worker: record the commands (no worker runs in this file).
  void h.testBus.bus.consumeProvisioningRequested(async (m) => void provisionCommands.push(m), { signal: stop.signal });
});
afterAll(async () => {
  stop.abort();
  await h?.close();
});

describe('idempotency keys over GraphQL', () => {
  it("the same key from two callers gives two tasks, each caller's own", async () => {
    const i = { entitlementId: f.app.assignedEntitlementId, principalId: f.users[1]!.id, idempotencyKey: 'change-7' };
    const a = await h.gql<{ grant: Task }>(alice, GRANT, { i });
    const b = await h.gql<{ grant: Task }>(bob, GRANT, { i });
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(b.data!.grant.id).not.toBe(a.data!.grant.id);
    expect([a.data!.grant.requestedBy, b.data!.grant.requestedBy]).toEqual(['alice', 'bob']);
    // Each caller's repeat is their own task again; a different request under Bob's key is his CONFLICT only.
    expect((await h.gql<{ grant: Task }>(alice, GRANT, { i })).data!.grant.id).toBe(a.data!.grant.id);
    expect((await h.gql<{ grant: Task }>(bob, GRANT, { i })).data!.grant.id).toBe(b.data!.grant.id);
    const rows = await h.db
      .selectFrom('provisioning_tasks')
      .select(['id', 'requested_by', 'namespace'])
      .where('idempotency_key', '=', 'change-7')
      .orderBy('seq')
      .execute();
    expect(rows).toEqual([
      { id: a.data!.grant.id, requested_by: 'alice', namespace: 'user' },
      { id: b.data!.grant.id, requested_by: 'bob', namespace: 'user' },
    ]);
  });

  it('the same key with a different expiresAt is CONFLICT, naming what differs', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const i = { entitlementId: f.bigGroup.memberEntitlementId, principalId: f.users[2]!.id, idempotencyKey: 'jit-42', expiresAt };
    const first = await h.gql<{ grant: Task }>(alice, GRANT, { i });
    expect(first.errors).toBeUndefined();
    expect((await h.gql<{ grant: Task }>(alice, GRANT, { i })).data!.grant.id).toBe(first.data!.grant.id);
    const longer = await h.gql(alice, GRANT, { i: { ...i, expiresAt: new Date(Date.now() + 7_200_000).toISOString() } });
    expect(longer.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(longer.errors?.[0]?.message).toMatch(/different expiresAt/);
    const permanent = await h.gql(alice, GRANT, { i: { ...i, expiresAt: null } });
    expect(permanent.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const rows = await h.db.selectFrom('provisioning_tasks').select('expires_at').where('idempotency_key', '=', 'jit-42').execute();
    expect(rows.map((r) => r.expires_at?.toISOString())).toEqual([expiresAt]);
  });

  it("a revoke under an expiry-shaped key is a caller's task like any other (the system namespace is unreachable)", async () => {
    const key = `expiry:${f.connectorId}:${f.bigGroup.memberKey}:${f.users[3]!.externalId}:${Date.now() + 60_000}`;
    const r = await h.gql<{ revoke: Task }>(alice, REVOKE, {
      i: { entitlementId: f.bigGroup.memberEntitlementId, principalId: f.users[3]!.id, idempotencyKey: key },
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.revoke).toMatchObject({ status: 'PENDING', action: 'REVOKE', requestedBy: 'alice', idempotencyKey: key });
    const row = await h.db
      .selectFrom('provisioning_tasks')
      .select(['namespace', 'requested_by'])
      .where('id', '=', r.data!.revoke.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ namespace: 'user', requested_by: 'alice' });
    // Even a token whose subject is 'system' only ever writes user keys.
    const impostor = await h.token('SUPER_ADMIN', 'system');
    const s = await h.gql<{ revoke: Task }>(impostor, REVOKE, {
      i: { entitlementId: f.bigGroup.memberEntitlementId, principalId: f.users[4]!.id, idempotencyKey: key },
    });
    expect(s.errors).toBeUndefined();
    const srow = await h.db
      .selectFrom('provisioning_tasks')
      .select(['namespace', 'requested_by'])
      .where('id', '=', s.data!.revoke.id)
      .executeTakeFirstOrThrow();
    expect(srow).toEqual({ namespace: 'user', requested_by: 'system' });
  });
});

describe('deleteConnector with open time-bound access', () => {
  it('refuses with CONFLICT naming the open time-bound grants and tasks, and keeps the grant rows', async () => {
    const c = await seedTenant(h.db, { owners: ['alice'], userCount: 20, name: 'Fabrikam' });
    const expiresAt = new Date(Date.now() + 3_600_000);
    // What the provision worker writes through for a SUCCEEDED just-in-time grant.
    await h.db
      .insertInto('grants')
      .values({
        connector_id: c.connectorId,
        entitlement_key: c.bigGroup.memberKey,
        principal_external_id: c.users[5]!.externalId,
        principal_kind: 'USER',
        direct: true,
        expires_at: expiresAt,
        source: 'provisioning',
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    await h.db
      .updateTable('grants')
      .set({ expires_at: expiresAt, source: 'provisioning' })
      .where('connector_id', '=', c.connectorId)
      .where('entitlement_key', '=', c.bigGroup.memberKey)
      .where('principal_external_id', '=', c.users[5]!.externalId)
      .where('direct', '=', true)
      .execute();
    // A PIM eligibility with an end date is ended by Entra itself: not open access in this sense.
    await h.db
      .insertInto('grants')
      .values({
        connector_id: c.connectorId,
        entitlement_key: `DIRECTORY_ROLE:${gid('d', 1)}:eligible`,
        principal_external_id: c.users[7]!.externalId,
        principal_kind: 'USER',
        direct: true,
        expires_at: expiresAt,
        source: 'sync',
      })
      .execute();
    const grantsBefore = await countGrants(c.connectorId);

    const r = await h.gql(alice, DELETE, { id: c.connectorId });
    expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(r.errors?.[0]?.message).toMatch(/1 time-bound grant\(s\) not yet revoked/);
    expect(r.errors?.[0]?.message).toContain(
      `All staff for ${c.users[5]!.name} (expires ${expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z')})`,
    );
    expect(r.errors?.[0]?.message).toMatch(/revokeTimeBoundAccess: true/);
    expect(await h.db.selectFrom('connectors').select('id').where('id', '=', c.connectorId).executeTakeFirst()).toBeDefined();
    expect(await countGrants(c.connectorId)).toBe(grantsBefore);
    const audit = await h.db
      .selectFrom('audit_events')
      .select('action')
      .where('connector_id', '=', c.connectorId)
      .where('action', '=', 'connector.deleted')
      .execute();
    expect(audit).toHaveLength(0);

    // A queued provisioning task counts too, named with its status.
    await h.db.updateTable('grants').set({ expires_at: null }).where('connector_id', '=', c.connectorId).execute();
    const task = await h.gql<{ grant: Task }>(alice, GRANT, {
      i: { entitlementId: c.app.assignedEntitlementId, principalId: c.users[6]!.id, expiresAt: expiresAt.toISOString() },
    });
    const t = await h.gql(alice, DELETE, { id: c.connectorId });
    expect(t.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(t.errors?.[0]?.message).toContain(
      `1 provisioning task(s) queued or running (GRANT Assigned to Payroll for ${c.users[6]!.name} (PENDING, task ${task.data!.grant.id}))`,
    );
    expect(t.errors?.[0]?.message).not.toMatch(/time-bound grant/);

    // Once nothing is open (the worker finished), deletion proceeds as before.
    await h.db.updateTable('provisioning_tasks').set({ status: 'FAILED', error: 'test' }).where('id', '=', task.data!.grant.id).execute();
    const ok = await h.gql<{ deleteConnector: boolean }>(alice, DELETE, { id: c.connectorId });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.deleteConnector).toBe(true);
  });

  it("revokeTimeBoundAccess: true queues the caller's revokes of every open time-bound grant and still refuses until they have completed", async () => {
    const c = await seedTenant(h.db, { owners: ['alice'], userCount: 20, name: 'Northwind' });
    const expiresAt = new Date(Date.now() + 3_600_000);
    for (const u of [c.users[1]!, c.users[2]!]) {
      await h.db
        .insertInto('grants')
        .values({
          connector_id: c.connectorId,
          entitlement_key: c.bigGroup.memberKey,
          principal_external_id: u.externalId,
          principal_kind: 'USER',
          direct: true,
          expires_at: expiresAt,
          source: 'provisioning',
        })
        .onConflict((oc) =>
          oc.columns(['connector_id', 'entitlement_key', 'principal_external_id', 'direct']).doUpdateSet({ expires_at: expiresAt }),
        )
        .execute();
    }
    const r = await h.gql(root, DELETE, { id: c.connectorId, r: true });
    expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(r.errors?.[0]?.message).toMatch(/Queued 2 revoke\(s\) of time-bound access/);
    expect(r.errors?.[0]?.message).toMatch(/2 time-bound grant\(s\) not yet revoked/);
    expect(r.errors?.[0]?.message).toMatch(/2 provisioning task\(s\) queued or running/);
    const revokes = await h.db
      .selectFrom('provisioning_tasks')
      .selectAll()
      .where('connector_id', '=', c.connectorId)
      .orderBy('principal_external_id')
      .execute();
    expect(revokes.map((t) => [t.action, t.requested_by, t.namespace, t.status, t.principal_external_id])).toEqual([
      ['REVOKE', 'root', 'user', 'PENDING', c.users[1]!.externalId],
      ['REVOKE', 'root', 'user', 'PENDING', c.users[2]!.externalId],
    ]);
    for (const t of revokes) await waitFor(() => provisionCommands.some((m) => m.taskId === t.id));
    const requested = await h.db
      .selectFrom('audit_events')
      .select(['actor', 'action'])
      .where('connector_id', '=', c.connectorId)
      .where('action', '=', 'revoke.requested')
      .execute();
    expect(requested).toEqual([
      { actor: 'root', action: 'revoke.requested' },
      { actor: 'root', action: 'revoke.requested' },
    ]);

    // Asking again while they run queues nothing new.
    const again = await h.gql(root, DELETE, { id: c.connectorId, r: true });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await h.db.selectFrom('provisioning_tasks').select('id').where('connector_id', '=', c.connectorId).execute()).toHaveLength(2);

    // What the provision worker does when the revokes succeed: task SUCCEEDED, grant row gone.
    await h.db.updateTable('provisioning_tasks').set({ status: 'SUCCEEDED' }).where('connector_id', '=', c.connectorId).execute();
    await h.db.deleteFrom('grants').where('connector_id', '=', c.connectorId).where('expires_at', 'is not', null).execute();
    const ok = await h.gql<{ deleteConnector: boolean }>(root, DELETE, { id: c.connectorId, r: true });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.deleteConnector).toBe(true);
  });
});

async function countGrants(connectorId: string): Promise<number> {
  return Number(
    (
      await h.db
        .selectFrom('grants')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('connector_id', '=', connectorId)
        .executeTakeFirstOrThrow()
    ).n,
  );
}

async function waitFor(cond: () => boolean) {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(cond()).toBe(true);
}
