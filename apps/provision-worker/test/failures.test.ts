import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailsContain } from './support/audit';
import { createHarness, type Harness } from './support/harness';
import { insertConnector, seedFromExport } from './support/seed';
import { group, pickUser, writableGroups } from './support/tenant';

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ seed: 11 });
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

/** Membership writes that reached Graph (the expiry scan may be revoking seeded PIM schedules meanwhile). */
function writes(): number {
  return Object.values(h.emulator.stats().byRoute['POST /groups/{id}/members/$ref'] ?? {}).reduce((a, b) => a + b, 0);
}

describe('permanent failures', () => {
  it('fails fast, naming the missing permissions, when the connector has only the read-only set', async () => {
    const readonly = await insertConnector(h.tdb.db, h.box, h.emulator.config, h.emulator.app('readonly'));
    const t = h.emulator.exportTenant();
    await seedFromExport(h.tdb.db, readonly, t);
    const g = writableGroups(t, { unified: false })[0]!;
    const user = pickUser(t, g.members);
    const before = writes();

    const task = await h.request({ action: 'GRANT', entitlementKey: `GROUP:${g.id}:member`, principal: user, connectorId: readonly });
    const done = await h.waitForTask(task.id);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatch(/lacks the application permissions .*GroupMember\.ReadWrite\.All/);
    expect(done.error).toMatch(/Group\.ReadWrite\.All/);
    expect(writes()).toBe(before);
    expect(group(h.emulator.exportTenant(), g.id).members).not.toContain(user);
    const audit = await h.tdb.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'grant.failed')
      .where(detailsContain({ taskId: task.id }))
      .executeTakeFirst();
    expect(audit?.details).toMatchObject({ error: done.error });
    const log = await h.tdb.db.selectFrom('connector_logs').selectAll().where('connector_id', '=', readonly).execute();
    expect(log.some((l) => l.level === 'WARN' && l.message.includes('GroupMember.ReadWrite.All'))).toBe(true);
  });

  it('fails with a clear message when the principal was deleted in the tenant', async () => {
    // A user the seeded database knows (mutate may also delete a user it created in the same call);
    // churn rounds with fixed seeds until one is deleted.
    const before = new Set(h.emulator.exportTenant().users.map((u) => String(u.id)));
    let deleted: ReturnType<typeof h.emulator.mutate>[number] | undefined;
    for (let seed = 5; !deleted && seed < 25; seed++)
      deleted = h.emulator.mutate(40, seed).find((c) => c.kind === 'userDeleted' && before.has(c.objectId));
    expect(deleted, 'mutate(40) deletes at least one user').toBeDefined();
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[1]!;

    const task = await h.request({ action: 'GRANT', entitlementKey: `GROUP:${g.id}:member`, principal: deleted!.objectId });
    const done = await h.waitForTask(task.id);
    expect(done.status).toBe('FAILED');
    expect(done.error).toContain(deleted!.objectId);
    expect(done.error).toMatch(/no longer exists in the tenant/);
    expect(done.graph_request_id).toEqual(expect.any(String));
  });

  it('refuses a principal the entitlement does not allow before any Graph call', async () => {
    const t = h.emulator.exportTenant();
    const unified = writableGroups(t, { unified: true })[0]!;
    const other = writableGroups(t, { unified: false })[2]!;
    const before = writes();
    // The gateway refuses this too; a task that got queued anyway (older gateway, direct insert) fails the same way.
    await expect(h.request({ action: 'GRANT', entitlementKey: `GROUP:${unified.id}:member`, principal: other.id })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    const task = await h.request(
      { action: 'GRANT', entitlementKey: `GROUP:${unified.id}:member`, principal: other.id },
      { validate: false },
    );
    const done = await h.waitForTask(task.id);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatch(/Microsoft 365 groups take only users as members/);
    expect(writes()).toBe(before);
  });

  it('refuses a non-grantable entitlement before any Graph call', async () => {
    const t = h.emulator.exportTenant();
    const synced = t.groups.find((g) => g.onPremisesSyncEnabled === true);
    expect(synced, 'the S tenant has on-premises-synced groups').toBeDefined();
    const user = pickUser(t, synced!.members);
    const before = writes();
    const task = await h.request({ action: 'GRANT', entitlementKey: `GROUP:${synced!.id}:member`, principal: user }, { validate: false });
    const done = await h.waitForTask(task.id);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatch(/not grantable/);
    expect(writes()).toBe(before);
  });

  it("fails with Graph's own words when the revoke would remove a group's last owner", async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t).find((x) => x.owners.length === 1 && t.users.some((u) => u.id === x.owners[0]));
    expect(g, 'the tenant has a group with a single user owner').toBeDefined();
    const task = await h.request({ action: 'REVOKE', entitlementKey: `GROUP:${g!.id}:owner`, principal: g!.owners[0]! });
    const done = await h.waitForTask(task.id);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatch(/at least one owner/);
    expect(group(h.emulator.exportTenant(), g!.id).owners).toEqual(g!.owners);
  });
});
