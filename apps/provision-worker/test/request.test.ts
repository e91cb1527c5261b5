import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBus, type TestBus } from '@warden/bus/testing';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import type { ProvisioningRequested } from '@warden/bus';
import { requestProvisioning } from '@warden/access-model';

let tdb: TestDatabase;
let tbus: TestBus;
let connectorId: string;
let user: string;
let group: string;
let unifiedMember: string;

beforeAll(async () => {
  tdb = await createTestDatabase('prov_req');
  tbus = await createTestBus();
  const db = tdb.db;
  connectorId = (
    await db.insertInto('connectors').values({ display_name: 'c', auth_method: 'CLIENT_SECRET' }).returning('id').executeTakeFirstOrThrow()
  ).id;
  const res = await db
    .insertInto('resources')
    .values([
      { connector_id: connectorId, type: 'USER', external_id: 'u1', display_name: 'Ada', profile: '{}' },
      { connector_id: connectorId, type: 'GROUP', external_id: 'g1', display_name: 'Ops', profile: '{}' },
    ])
    .returning(['id', 'external_id'])
    .execute();
  user = res.find((r) => r.external_id === 'u1')!.id;
  const ents = await db
    .insertInto('entitlements')
    .values([
      {
        connector_id: connectorId,
        key: 'GROUP:g1:member',
        resource_external_id: 'g1',
        resource_type: 'GROUP',
        slug: 'member',
        display_name: 'Member of Ops',
        metadata: '{}',
      },
      {
        connector_id: connectorId,
        key: 'GROUP:g2:member',
        resource_external_id: 'g2',
        resource_type: 'GROUP',
        slug: 'member',
        display_name: 'Member of M365',
        metadata: JSON.stringify({ unifiedGroup: true }),
      },
    ])
    .returning(['id', 'key'])
    .execute();
  group = ents.find((e) => e.key === 'GROUP:g1:member')!.id;
  unifiedMember = ents.find((e) => e.key === 'GROUP:g2:member')!.id;
});
afterAll(async () => {
  await tbus?.destroy();
  await tdb?.drop();
});

describe('requestProvisioning', () => {
  it('inserts a PENDING task with its audit row and publishes the command', async () => {
    const received: ProvisioningRequested[] = [];
    const stop = new AbortController();
    const consuming = tbus.bus.consumeProvisioningRequested(async (m) => void received.push(m), { signal: stop.signal });
    const task = await requestProvisioning(tdb.db, tbus.bus, {
      action: 'GRANT',
      entitlementId: group,
      principalId: user,
      requestedBy: 'bob',
      reason: 'on call',
    });
    expect(task).toMatchObject({
      status: 'PENDING',
      action: 'GRANT',
      entitlement_key: 'GROUP:g1:member',
      principal_external_id: 'u1',
      requested_by: 'bob',
    });
    expect(task.idempotency_key).toMatch(/[0-9a-f-]{36}/);
    const audit = await tdb.db.selectFrom('audit_events').selectAll().where('action', '=', 'grant.requested').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'bob',
      connector_id: connectorId,
      details: { taskId: task.id, reason: 'on call', principal: 'Ada' },
    });
    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await consuming;
    expect(received).toEqual([{ v: 1, taskId: task.id, connectorId }]);
  });

  it('refuses unknown ids, past expiries and principals the entitlement does not allow', async () => {
    const base = { action: 'GRANT' as const, entitlementId: group, principalId: user, requestedBy: 'bob' };
    await expect(
      requestProvisioning(tdb.db, tbus.bus, { ...base, entitlementId: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      requestProvisioning(tdb.db, tbus.bus, { ...base, principalId: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(requestProvisioning(tdb.db, tbus.bus, { ...base, expiresAt: new Date(Date.now() - 1000) })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    await expect(
      requestProvisioning(tdb.db, tbus.bus, { ...base, action: 'REVOKE', expiresAt: new Date(Date.now() + 60_000) }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const groupPrincipal = (await tdb.db.selectFrom('resources').select('id').where('external_id', '=', 'g1').executeTakeFirstOrThrow()).id;
    await expect(
      requestProvisioning(tdb.db, tbus.bus, { ...base, entitlementId: unifiedMember, principalId: groupPrincipal }),
    ).rejects.toThrow(/Microsoft 365 groups take only users/);
  });

  it('returns one task for concurrent requests with the same idempotency key', async () => {
    const input = {
      action: 'REVOKE' as const,
      entitlementId: group,
      principalId: user,
      requestedBy: 'bob',
      idempotencyKey: 'k-concurrent',
    };
    const tasks = await Promise.all(Array.from({ length: 5 }, () => requestProvisioning(tdb.db, tbus.bus, input)));
    expect(new Set(tasks.map((t) => t.id)).size).toBe(1);
    const audit = await tdb.db.selectFrom('audit_events').select('id').where('action', '=', 'revoke.requested').execute();
    expect(audit).toHaveLength(1);
  });
});
