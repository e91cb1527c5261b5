import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisioningRequested, SyncRequested } from '@warden/bus';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';
import { PROVISIONING_PERMISSIONS } from '@warden/graph-core';

let h: Harness;
let f: Fixture;
let owner: string;
const syncCommands: SyncRequested[] = [];
const provisionCommands: ProvisioningRequested[] = [];
const stop = new AbortController();

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db, { owners: ['alice'] });
  owner = await h.token('CONNECTOR_ADMIN', 'alice');
  // Stand in for the workers: record the commands the gateway publishes.
  void h.testBus.bus.consumeSyncRequested(async (m) => void syncCommands.push(m), { signal: stop.signal });
  void h.testBus.bus.consumeProvisioningRequested(async (m) => void provisionCommands.push(m), { signal: stop.signal });
});
afterAll(async () => {
  stop.abort();
  await h?.close();
});

const waitFor = async (cond: () => boolean) => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(cond()).toBe(true);
};

const TRIGGER =
  'mutation($c: ID!, $m: SyncMode) { triggerSync(connectorId: $c, mode: $m) { id status mode requestedBy connector { id } } }';
const GRANT =
  'mutation($i: GrantInput!) { grant(input: $i) { id status action requestedBy reason expiresAt entitlement { slug } principal { displayName } } }';
const REVOKE = 'mutation($i: RevokeInput!) { revoke(input: $i) { id status action } }';

describe('triggerSync', () => {
  it('queues one run, publishes SyncRequested, and returns the active run to a second trigger', async () => {
    const a = await h.gql<{ triggerSync: { id: string; status: string; mode: string; requestedBy: string } }>(owner, TRIGGER, {
      c: f.connectorId,
      m: 'FULL',
    });
    expect(a.errors).toBeUndefined();
    expect(a.data!.triggerSync).toMatchObject({ status: 'QUEUED', mode: 'FULL', requestedBy: 'alice' });
    const b = await h.gql<{ triggerSync: { id: string; mode: string } }>(owner, TRIGGER, { c: f.connectorId });
    expect(b.data!.triggerSync.id).toBe(a.data!.triggerSync.id);
    await waitFor(() => syncCommands.some((c) => c.runId === a.data!.triggerSync.id));
    expect(syncCommands.filter((c) => c.runId === a.data!.triggerSync.id)).toHaveLength(1); // de-duplicated by run id
    const runs = await h.db
      .selectFrom('sync_runs')
      .select(['id'])
      .where('connector_id', '=', f.connectorId)
      .where('status', 'in', ['QUEUED', 'RUNNING'])
      .execute();
    expect(runs).toHaveLength(1);
    // Once it finished, the next trigger queues a new run (default mode INCREMENTAL).
    await h.db.updateTable('sync_runs').set({ status: 'SUCCEEDED' }).where('id', '=', a.data!.triggerSync.id).execute();
    const c = await h.gql<{ triggerSync: { id: string; mode: string } }>(owner, TRIGGER, { c: f.connectorId });
    expect(c.data!.triggerSync.id).not.toBe(a.data!.triggerSync.id);
    expect(c.data!.triggerSync.mode).toBe('INCREMENTAL');
  });

  it('answers concurrent triggers with the same run', async () => {
    await h.db
      .updateTable('sync_runs')
      .set({ status: 'SUCCEEDED' })
      .where('connector_id', '=', f.connectorId)
      .where('status', 'in', ['QUEUED', 'RUNNING'])
      .execute();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => h.gql<{ triggerSync: { id: string } }>(owner, TRIGGER, { c: f.connectorId })),
    );
    expect(new Set(results.map((r) => r.data!.triggerSync.id)).size).toBe(1);
  });

  it('NOT_FOUND for an unknown connector', async () => {
    const r = await h.gql(owner, TRIGGER, { c: '00000000-0000-4000-8000-000000000000' });
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('grant and revoke', () => {
  it('returns a PENDING task, audits it and publishes ProvisioningRequested', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const r = await h.gql<{
      grant: {
        id: string;
        status: string;
        action: string;
        requestedBy: string;
        reason: string;
        expiresAt: string;
        principal: { displayName: string };
      };
    }>(owner, GRANT, {
      i: { entitlementId: await entId(f.nestedGroup.memberKey), principalId: f.users[50]!.id, reason: 'quarter close', expiresAt },
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.grant).toMatchObject({
      status: 'PENDING',
      action: 'GRANT',
      requestedBy: 'alice',
      reason: 'quarter close',
      expiresAt,
      principal: { displayName: 'User 0050 Finance' },
    });
    await waitFor(() => provisionCommands.some((c) => c.taskId === r.data!.grant.id));
    const audit = await h.db
      .selectFrom('audit_events')
      .select(['action', 'actor', 'details'])
      .where('action', '=', 'grant.requested')
      .execute();
    expect(audit.some((a) => a.actor === 'alice' && (a.details as { taskId?: string }).taskId === r.data!.grant.id)).toBe(true);
  });

  it('honours the idempotency key: same task, no second row; a different request with the key is a CONFLICT', async () => {
    const i = { entitlementId: f.app.assignedEntitlementId, principalId: f.users[5]!.id, idempotencyKey: 'req-42' };
    const a = await h.gql<{ grant: { id: string } }>(owner, GRANT, { i });
    const b = await h.gql<{ grant: { id: string } }>(owner, GRANT, { i });
    expect(b.data!.grant.id).toBe(a.data!.grant.id);
    const rows = await h.db.selectFrom('provisioning_tasks').select(['id']).where('idempotency_key', '=', 'req-42').execute();
    expect(rows).toHaveLength(1);
    const c = await h.gql(owner, GRANT, { i: { ...i, principalId: f.users[6]!.id } });
    expect(c.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const d = await h.gql(owner, REVOKE, { i });
    expect(d.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('refuses what Graph could never do with BAD_USER_INPUT and a clear message', async () => {
    const dynamic = await h.gql(owner, GRANT, { i: { entitlementId: f.dynamicGroup.memberEntitlementId, principalId: f.users[1]!.id } });
    expect(dynamic.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(dynamic.errors?.[0]?.message).toMatch(/not grantable/);
    const groupInM365 = await h.gql(owner, GRANT, { i: { entitlementId: f.m365Group.memberEntitlementId, principalId: f.nestedGroup.id } });
    expect(groupInM365.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(groupInM365.errors?.[0]?.message).toMatch(/Microsoft 365 groups take only users/);
    const past = await h.gql(owner, GRANT, {
      i: { entitlementId: f.app.assignedEntitlementId, principalId: f.users[2]!.id, expiresAt: '2001-01-01T00:00:00Z' },
    });
    expect(past.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badDate = await h.gql(owner, GRANT, {
      i: { entitlementId: f.app.assignedEntitlementId, principalId: f.users[2]!.id, expiresAt: 'tomorrow' },
    });
    expect(badDate.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await h.gql(owner, GRANT, {
      i: { entitlementId: '00000000-0000-4000-8000-000000000000', principalId: f.users[2]!.id },
    });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('refuses with FORBIDDEN when the connector lacks provisioning permissions', async () => {
    await h.db
      .updateTable('connectors')
      .set({ granted_permissions: ['User.Read.All', 'Group.Read.All'] })
      .where('id', '=', f.connectorId)
      .execute();
    try {
      const r = await h.gql(owner, GRANT, { i: { entitlementId: f.app.assignedEntitlementId, principalId: f.users[3]!.id } });
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(r.errors?.[0]?.message).toMatch(/lacks Graph permissions needed to provision: .*Group\.ReadWrite\.All/);
    } finally {
      await h.db.updateTable('connectors').set({ granted_permissions: FULL }).where('id', '=', f.connectorId).execute();
    }
  });

  it('revoke returns a PENDING REVOKE task', async () => {
    const r = await h.gql<{ revoke: { status: string; action: string } }>(owner, REVOKE, {
      i: { entitlementId: f.bigGroup.memberEntitlementId, principalId: f.users[30]!.id, reason: 'left' },
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.revoke).toMatchObject({ status: 'PENDING', action: 'REVOKE' });
  });
});

const FULL = [...PROVISIONING_PERMISSIONS];

async function entId(key: string): Promise<string> {
  return (await h.db.selectFrom('entitlements').select('id').where('key', '=', key).executeTakeFirstOrThrow()).id;
}
