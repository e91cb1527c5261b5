import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailsContain } from './support/audit';
import { createHarness, sleep, waitFor, type Harness } from './support/harness';
import { group, pickUser, writableGroups } from './support/tenant';

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ seed: 31 });
});
afterAll(async () => {
  await h?.close();
});

async function systemRevoke(key: string, principal: string) {
  return waitFor(
    'the system revoke to succeed',
    async () =>
      h.tdb.db
        .selectFrom('provisioning_tasks')
        .selectAll()
        .where('action', '=', 'REVOKE')
        .where('requested_by', '=', 'system')
        .where('entitlement_key', '=', key)
        .where('principal_external_id', '=', principal)
        .where('status', '=', 'SUCCEEDED')
        .executeTakeFirst(),
    30_000,
  );
}

describe('just-in-time grants', () => {
  it('revokes a 2-second grant by itself, audited as the system', async () => {
    const worker = await h.startWorker();
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[0]!;
    const user = pickUser(t, g.members);
    const key = `GROUP:${g.id}:member`;
    const expiresAt = new Date(Date.now() + 2_000);

    const task = await h.request({ action: 'GRANT', entitlementKey: key, principal: user, expiresAt });
    expect((await h.waitForTask(task.id)).status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), g.id).members).toContain(user);
    const row = await h.tdb.db
      .selectFrom('grants')
      .selectAll()
      .where('entitlement_key', '=', key)
      .where('principal_external_id', '=', user)
      .where('direct', '=', true)
      .executeTakeFirstOrThrow();
    expect(row.expires_at?.getTime()).toBe(expiresAt.getTime());

    const revoke = await systemRevoke(key, user);
    expect(revoke.completed_at!.getTime() - expiresAt.getTime()).toBeLessThan(60_000);
    expect(revoke.idempotency_key).toMatch(/^expiry:/);
    expect(group(h.emulator.exportTenant(), g.id).members).not.toContain(user);
    expect(
      await h.tdb.db
        .selectFrom('grants')
        .select('id')
        .where('entitlement_key', '=', key)
        .where('principal_external_id', '=', user)
        .where('direct', '=', true)
        .executeTakeFirst(),
    ).toBeUndefined();
    const audit = await h.tdb.db
      .selectFrom('audit_events')
      .selectAll()
      .where(detailsContain({ taskId: revoke.id }))
      .orderBy('id')
      .execute();
    expect(audit.map((a) => [a.actor, a.action])).toEqual([
      ['system', 'grant.expired'],
      ['system', 'revoke.succeeded'],
    ]);
    // one revoke per expiry, however many scans ran
    await worker.scanNow();
    const revokes = await h.tdb.db
      .selectFrom('provisioning_tasks')
      .select('id')
      .where('requested_by', '=', 'system')
      .where('entitlement_key', '=', key)
      .execute();
    expect(revokes).toHaveLength(1);
    await worker.close();
  });

  it('revokes on time when the grant expired while no worker was running', async () => {
    const worker = await h.startWorker();
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[1]!;
    const user = pickUser(t, g.members, 3);
    const key = `GROUP:${g.id}:member`;
    const expiresAt = new Date(Date.now() + 2_000);
    const task = await h.request({ action: 'GRANT', entitlementKey: key, principal: user, expiresAt });
    expect((await h.waitForTask(task.id)).status).toBe('SUCCEEDED');
    await worker.close();

    await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 1_000);
    expect(group(h.emulator.exportTenant(), g.id).members).toContain(user); // nobody revoked it yet

    await h.startWorker();
    const revoke = await systemRevoke(key, user);
    expect(revoke.completed_at!.getTime() - expiresAt.getTime()).toBeLessThan(60_000);
    expect(group(h.emulator.exportTenant(), g.id).members).not.toContain(user);
  });

  it('does not revoke a grant whose expiry was extended before the revoke ran', async () => {
    const worker = await h.startWorker();
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[2]!;
    const user = pickUser(t, g.members, 5);
    const key = `GROUP:${g.id}:member`;
    const first = await h.request({ action: 'GRANT', entitlementKey: key, principal: user, expiresAt: new Date(Date.now() + 1_500) });
    expect((await h.waitForTask(first.id)).status).toBe('SUCCEEDED');
    const extended = new Date(Date.now() + 3_600_000);
    const second = await h.request({ action: 'GRANT', entitlementKey: key, principal: user, expiresAt: extended });
    expect((await h.waitForTask(second.id)).status).toBe('SUCCEEDED');
    await sleep(2_500);
    await worker.scanNow();
    await sleep(500);
    expect(group(h.emulator.exportTenant(), g.id).members).toContain(user);
    const row = await h.tdb.db
      .selectFrom('grants')
      .selectAll()
      .where('entitlement_key', '=', key)
      .where('principal_external_id', '=', user)
      .where('direct', '=', true)
      .executeTakeFirstOrThrow();
    expect(row.expires_at?.getTime()).toBe(extended.getTime());
    await worker.close();
  });
});
