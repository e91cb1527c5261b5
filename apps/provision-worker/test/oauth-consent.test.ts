import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './support/harness';
import { seedFromExport } from './support/seed';
import { group, pickUser, writableGroups } from './support/tenant';

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ seed: 13 });
  const app = h.emulator.app('provisioning');
  await h.startWorker({ OAUTH_CLIENT_ID: app.clientId, OAUTH_CLIENT_SECRET: app.clientSecret });
});
afterAll(async () => {
  await h?.close();
});

function writes(): number {
  return Object.values(h.emulator.stats().byRoute['POST /groups/{id}/members/$ref'] ?? {}).reduce((a, b) => a + b, 0);
}

describe('OAUTH connectors', () => {
  it("no grant through the deployment's app without a verified admin consent for the tenant; granted after consent", async () => {
    // What the pre-fix gateway allowed: an OAUTH connector pointed at a tenant by input alone.
    const row = await h.tdb.db
      .insertInto('connectors')
      .values({
        display_name: 'oauth',
        auth_method: 'OAUTH',
        tenant_id: h.emulator.config.tenantId,
        client_id: h.emulator.app('provisioning').clientId,
        graph_base_url: h.emulator.config.baseUrl,
        authority_host: h.emulator.config.authorityHost,
        status: 'CONNECTED',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const t = h.emulator.exportTenant();
    await seedFromExport(h.tdb.db, row.id, t);
    const g = writableGroups(t, { unified: false })[0]!;
    const user = pickUser(t, g.members);
    const before = writes();

    const task = await h.request({ action: 'GRANT', entitlementKey: `GROUP:${g.id}:member`, principal: user, connectorId: row.id });
    const done = await h.waitForTask(task.id);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatch(/admin consent/);
    expect(writes()).toBe(before);
    expect(group(h.emulator.exportTenant(), g.id).members).not.toContain(user);

    await h.tdb.db
      .updateTable('connectors')
      .set({ consented_tenant_id: h.emulator.config.tenantId, consent_verified_at: new Date() })
      .where('id', '=', row.id)
      .execute();
    const again = await h.request({
      action: 'GRANT',
      entitlementKey: `GROUP:${g.id}:member`,
      principal: user,
      connectorId: row.id,
      idempotencyKey: 'after-consent',
    });
    const ok = await h.waitForTask(again.id);
    expect(ok.error).toBeNull();
    expect(ok.status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), g.id).members).toContain(user);
  });
});
