import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailsContain } from './support/audit';
import { createHarness, waitFor, type Harness } from './support/harness';
import { group, pickUser, writableGroups } from './support/tenant';

// Issue 11.5: idempotency keys were global, so whoever could request provisioning could take the
// key the expiry scan was going to use, or pose as an expiry revoke. These tests attack through
// requestProvisioning — exactly what the gateway's grant/revoke mutations call with the caller's
// token subject — and check the outcome in the Graph emulator and the database, with the real
// worker on the real bus.

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ seed: 41 });
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

/** The key the expiry scan derives for a grant (apps/provision-worker/src/expiry/scan.ts). */
const expiryKey = (entitlementKey: string, principal: string, expiresAt: Date) =>
  `expiry:${h.connectorId}:${entitlementKey}:${principal}:${expiresAt.getTime()}`;

const directGrant = (entitlementKey: string, principal: string) =>
  h.tdb.db
    .selectFrom('grants')
    .selectAll()
    .where('entitlement_key', '=', entitlementKey)
    .where('principal_external_id', '=', principal)
    .where('direct', '=', true)
    .executeTakeFirst();

describe('idempotency keys are scoped to the caller and the connector', () => {
  it("a connector admin who pre-creates the expiry scan's key does not stop the victim's grant from being revoked at expiry", async () => {
    const t = h.emulator.exportTenant();
    const [g, other] = writableGroups(t, { unified: false });
    const victim = pickUser(t, g!.members);
    const key = `GROUP:${g!.id}:member`;
    const expiresAt = new Date(Date.now() + 3_000);
    const grant = await h.request({ action: 'GRANT', entitlementKey: key, principal: victim, expiresAt, requestedBy: 'alice' });
    expect((await h.waitForTask(grant.id)).status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), g!.id).members).toContain(victim);

    // Mallory takes the key the scan will use, for a harmless request of her own, before the expiry.
    const squat = await h.request({
      action: 'GRANT',
      entitlementKey: `GROUP:${other!.id}:member`,
      principal: pickUser(t, other!.members, 2),
      requestedBy: 'mallory',
      idempotencyKey: expiryKey(key, victim, expiresAt),
    });
    expect((await h.waitForTask(squat.id)).status).toBe('SUCCEEDED');

    const revoke = await waitFor(
      "the system revoke of the victim's grant",
      async () =>
        h.tdb.db
          .selectFrom('provisioning_tasks')
          .selectAll()
          .where('namespace', '=', 'system')
          .where('action', '=', 'REVOKE')
          .where('entitlement_key', '=', key)
          .where('principal_external_id', '=', victim)
          .where('status', '=', 'SUCCEEDED')
          .executeTakeFirst(),
      30_000,
    );
    expect(revoke.id).not.toBe(squat.id);
    expect(revoke.requested_by).toBe('system');
    expect(group(h.emulator.exportTenant(), g!.id).members).not.toContain(victim);
    expect(await directGrant(key, victim)).toBeUndefined();
    // Mallory's task is still hers and unchanged.
    const mine = await h.tdb.db.selectFrom('provisioning_tasks').selectAll().where('id', '=', squat.id).executeTakeFirstOrThrow();
    expect(mine).toMatchObject({ namespace: 'user', requested_by: 'mallory', action: 'GRANT' });
  });

  it('a caller\'s REVOKE under an expiry-shaped key is an ordinary revoke: it reaches Graph, even from the token subject "system"', async () => {
    const t = h.emulator.exportTenant();
    const groups = writableGroups(t, { unified: false });
    for (const [i, requestedBy] of (['mallory', 'system'] as const).entries()) {
      const g = groups[2 + i]!;
      const user = pickUser(t, g.members, 4);
      const key = `GROUP:${g.id}:member`;
      // Time-bound access that is still running: the old code's "expiry was extended" shortcut applied.
      const expiresAt = new Date(Date.now() + 3_600_000);
      const grant = await h.request({ action: 'GRANT', entitlementKey: key, principal: user, expiresAt, requestedBy: 'alice' });
      expect((await h.waitForTask(grant.id)).status).toBe('SUCCEEDED');
      expect(group(h.emulator.exportTenant(), g.id).members).toContain(user);

      const revoke = await h.request({
        action: 'REVOKE',
        entitlementKey: key,
        principal: user,
        requestedBy,
        idempotencyKey: expiryKey(key, user, expiresAt),
      });
      expect(revoke.namespace).toBe('user');
      const done = await h.waitForTask(revoke.id);
      expect(done.status).toBe('SUCCEEDED');
      expect(group(h.emulator.exportTenant(), g.id).members, requestedBy).not.toContain(user);
      expect(await directGrant(key, user)).toBeUndefined();
      const outcome = await h.tdb.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'revoke.succeeded')
        .where(detailsContain({ taskId: revoke.id }))
        .executeTakeFirstOrThrow();
      expect(outcome.actor).toBe(requestedBy);
      expect(outcome.details).toMatchObject({ effect: 'applied', graphRequestId: expect.any(String) });
      expect(outcome.details).not.toHaveProperty('superseded');
    }
  });

  it("the same key from two callers is two tasks; each caller's repeat returns their own", async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[4]!;
    const key = `GROUP:${g.id}:member`;
    const forAlice = pickUser(t, g.members, 6);
    const forBob = pickUser(t, g.members, 7);
    const a = await h.request({
      action: 'GRANT',
      entitlementKey: key,
      principal: forAlice,
      requestedBy: 'alice',
      idempotencyKey: 'ticket-1',
    });
    // Bob's request under the same key is his own, and not a conflict with Alice's.
    const b = await h.request({ action: 'GRANT', entitlementKey: key, principal: forBob, requestedBy: 'bob', idempotencyKey: 'ticket-1' });
    expect(b.id).not.toBe(a.id);
    expect(b).toMatchObject({ requested_by: 'bob', principal_external_id: forBob });
    expect((await h.waitForTask(a.id)).status).toBe('SUCCEEDED');
    expect((await h.waitForTask(b.id)).status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), g.id).members).toEqual(expect.arrayContaining([forAlice, forBob]));
    expect(
      (await h.request({ action: 'GRANT', entitlementKey: key, principal: forAlice, requestedBy: 'alice', idempotencyKey: 'ticket-1' })).id,
    ).toBe(a.id);
    expect(
      (await h.request({ action: 'GRANT', entitlementKey: key, principal: forBob, requestedBy: 'bob', idempotencyKey: 'ticket-1' })).id,
    ).toBe(b.id);
    const rows = await h.tdb.db
      .selectFrom('provisioning_tasks')
      .select(['id', 'requested_by'])
      .where('idempotency_key', '=', 'ticket-1')
      .orderBy('seq')
      .execute();
    expect(rows).toEqual([
      { id: a.id, requested_by: 'alice' },
      { id: b.id, requested_by: 'bob' },
    ]);
  });

  it('the same key with a different expiry is a CONFLICT, not the old task', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[5]!;
    const key = `GROUP:${g.id}:member`;
    const user = pickUser(t, g.members, 8);
    const expiresAt = new Date(Date.now() + 3_600_000);
    const first = await h.request({
      action: 'GRANT',
      entitlementKey: key,
      principal: user,
      expiresAt,
      requestedBy: 'alice',
      idempotencyKey: 'jit-1',
    });
    // The same request again (the expiry as an ISO string, as the gateway passes it) is the same task.
    expect(
      (
        await h.request({
          action: 'GRANT',
          entitlementKey: key,
          principal: user,
          expiresAt: expiresAt.toISOString(),
          requestedBy: 'alice',
          idempotencyKey: 'jit-1',
        })
      ).id,
    ).toBe(first.id);
    const later = new Date(expiresAt.getTime() + 3_600_000);
    await expect(
      h.request({ action: 'GRANT', entitlementKey: key, principal: user, expiresAt: later, requestedBy: 'alice', idempotencyKey: 'jit-1' }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/expiresAt/),
    });
    await expect(
      h.request({ action: 'GRANT', entitlementKey: key, principal: user, requestedBy: 'alice', idempotencyKey: 'jit-1' }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await h.waitForTask(first.id)).status).toBe('SUCCEEDED');
    const rows = await h.tdb.db.selectFrom('provisioning_tasks').select('expires_at').where('idempotency_key', '=', 'jit-1').execute();
    expect(rows.map((r) => r.expires_at?.getTime())).toEqual([expiresAt.getTime()]);
    expect((await directGrant(key, user))?.expires_at?.getTime()).toBe(expiresAt.getTime());
  });
});
