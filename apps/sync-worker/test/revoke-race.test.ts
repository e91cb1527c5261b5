import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestProvisioning } from '@warden/access-model';
import type { ProvisioningTaskRow } from '@warden/database';
import { GraphClient } from '@warden/graph-core';
import { startProvisionWorker, type ProvisionWorker } from '@warden/provision-worker';
import type { SyncRunRow } from '@warden/database';
import { createHarness, type Harness } from './support/harness';

/**
 * Issue 17: Graph's answer read before a revoke, delivered after the revoke's write-through (the
 * provision worker's task SUCCEEDED) — the sync must not write the revoked member back; and when
 * the member was genuinely re-added in Graph after the revoke, it must write it. The emulator holds
 * the answer (`beforeAnswer`) while the real provision worker carries out the revoke.
 */
describe('additions that raced a revoke', () => {
  let h: Harness;
  let connectorId: string;
  let prov: ProvisionWorker;
  let graph: GraphClient;

  beforeAll(async () => {
    h = await createHarness({ seed: 57 });
    // One connector for both workers: the provisioning app reads and writes.
    connectorId = await h.addConnector({ app: 'provisioning' });
    await h.startWorker();
    prov = await startProvisionWorker({ ...h.env(), PROVISION_CONCURRENCY: '2', EXPIRY_SCAN_INTERVAL_MS: '30000' });
    const first = await h.sync(connectorId, 'FULL');
    expect(first.error).toBeNull();
    expect((await h.diff(connectorId)).differences).toEqual([]);
    const app = h.emulator.app('provisioning');
    graph = new GraphClient({
      tenantId: h.emulator.config.tenantId,
      clientId: app.clientId,
      auth: { kind: 'secret', clientSecret: app.clientSecret },
      graphBaseUrl: h.emulator.config.baseUrl,
      authorityHost: h.emulator.config.authorityHost,
    });
  }, 120_000);
  afterAll(async () => {
    await prov?.close();
    await h.close();
  });

  /** A write made in Graph directly (an admin in the portal), not through Warden. */
  async function graphWrite(path: string, body: unknown): Promise<number> {
    return (await graph.request('POST', `/v1.0${path}`, { body })).status;
  }

  async function provision(action: 'GRANT' | 'REVOKE', key: string, principal: string): Promise<ProvisioningTaskRow> {
    const db = h.tdb.db;
    const ent = await db
      .selectFrom('entitlements')
      .select('id')
      .where('connector_id', '=', connectorId)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    const res = await db
      .selectFrom('resources')
      .select('id')
      .where('connector_id', '=', connectorId)
      .where('external_id', '=', principal)
      .executeTakeFirstOrThrow();
    const task = await requestProvisioning(db, h.tbus.bus, { action, entitlementId: ent.id, principalId: res.id, requestedBy: 'alice' });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const t = await db.selectFrom('provisioning_tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
      if (t.status === 'SUCCEEDED') return t;
      if (t.status === 'FAILED' || Date.now() > deadline) throw new Error(`${action} ${key} ${principal}: ${t.status} ${t.error ?? ''}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function hasGrant(key: string, principal: string): Promise<boolean> {
    const row = await h.tdb.db
      .selectFrom('grants')
      .select('id')
      .where('connector_id', '=', connectorId)
      .where('entitlement_key', '=', key)
      .where('principal_external_id', '=', principal)
      .where('direct', '=', true)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Runs an incremental sync; the first Graph answer `matches` accepts is held until `during` is
   * done (the revoke, and maybe a re-add), then delivered as it was computed.
   */
  async function racedSync(matches: (req: { method: string; path: string; body: unknown }) => boolean, during: () => Promise<void>) {
    let fired = false;
    const remove = h.emulator.beforeAnswer(async (req) => {
      if (fired || !matches(req)) return;
      fired = true;
      await during();
    });
    let run: SyncRunRow;
    try {
      run = await h.sync(connectorId, 'INCREMENTAL', 60_000);
    } finally {
      remove();
    }
    expect(fired).toBe(true);
    expect(run.error).toBeNull();
    expect(run.status).toBe('SUCCEEDED');
    // Provisioning's write-throughs changed rows between runs: the stats' counts include them.
    expect(run.stats).toMatchObject(await h.countedStats(connectorId));
    return run.stats as Record<string, number>;
  }

  const isGroupsDelta = (req: { method: string; path: string }) => req.method === 'GET' && req.path === '/groups/delta';

  /** A cloud security group whose membership Warden can grant, and two users outside it. */
  function pickGroup(offset: number): { group: string; users: [string, string] } {
    const ex = h.emulator.exportTenant();
    const groups = ex.groups.filter(
      (g) => !(g['groupTypes'] as string[]).length && g['mailEnabled'] !== true && g['onPremisesSyncEnabled'] !== true,
    );
    const g = groups[offset]!;
    const outside = ex.users.map((u) => String(u['id'])).filter((u) => !g.members.includes(u));
    return { group: g.id, users: [outside[offset]!, outside[offset + 1]!] };
  }

  it('group membership: a delta page read before a revoke does not write the member back', async () => {
    const { group, users } = pickGroup(0);
    const key = `GROUP:${group}:member`;
    const user = users[0];
    await provision('GRANT', key, user);
    expect(await hasGrant(key, user)).toBe(true);

    const stats = await racedSync(isGroupsDelta, async () => {
      await provision('REVOKE', key, user);
      expect(await hasGrant(key, user)).toBe(false);
    });
    expect(await hasGrant(key, user)).toBe(false);
    expect(stats['additionsRevokedMeanwhile']).toBeGreaterThanOrEqual(1);
    expect(stats['additionsSkipped']).toBeGreaterThanOrEqual(1);
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });

  it('group membership: a member re-added in Graph after the revoke is written', async () => {
    const { group, users } = pickGroup(1);
    const key = `GROUP:${group}:member`;
    const user = users[1];
    await provision('GRANT', key, user);

    const stats = await racedSync(isGroupsDelta, async () => {
      await provision('REVOKE', key, user);
      // Added back by someone else, straight in Graph: no write-through puts the row back.
      expect(
        await graphWrite(`/groups/${group}/members/$ref`, {
          '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user}`,
        }),
      ).toBe(204);
      expect(await hasGrant(key, user)).toBe(false);
    });
    expect(await hasGrant(key, user)).toBe(true);
    expect(stats['additionsConfirmed']).toBeGreaterThanOrEqual(1);
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });

  /** An app role users are assigned to, and two users who do not hold it. */
  async function pickAppRole(offset: number): Promise<{ key: string; app: string; roleId: string; users: [string, string] }> {
    const ex = h.emulator.exportTenant();
    const userIds = new Set(ex.users.map((u) => String(u['id'])));
    const userAssignments = ex.appRoleAssignments.filter((a) => userIds.has(String(a['principalId'])));
    const roles = [...new Set(userAssignments.map((a) => `${String(a['resourceId'])}|${String(a['appRoleId'])}`))].sort();
    const [app, roleId] = roles[offset]!.split('|') as [string, string];
    const ent = await h.tdb.db
      .selectFrom('entitlements')
      .select('key')
      .where('connector_id', '=', connectorId)
      .where('resource_external_id', '=', app)
      .where('app_role_id', '=', roleId)
      .executeTakeFirstOrThrow();
    const holders = new Set(ex.appRoleAssignments.filter((a) => a['resourceId'] === app).map((a) => String(a['principalId'])));
    const free = [...userIds].filter((u) => !holders.has(u)).sort();
    return { key: ent.key, app, roleId, users: [free[0]!, free[1]!] };
  }

  const isAssignmentsBatch = (req: { method: string; path: string; body: unknown }) =>
    req.method === 'POST' && req.path === '/$batch' && JSON.stringify(req.body).includes('/appRoleAssignedTo');

  it('app role assignment: an assignment list read before a revoke does not write the assignment back', async () => {
    const { key, users } = await pickAppRole(0);
    const user = users[0];
    await provision('GRANT', key, user);

    const stats = await racedSync(isAssignmentsBatch, async () => {
      await provision('REVOKE', key, user);
    });
    expect(await hasGrant(key, user)).toBe(false);
    expect(stats['additionsSkipped']).toBeGreaterThanOrEqual(1);
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });

  it('app role assignment: re-assigned in Graph after the revoke is written, with the new assignment id', async () => {
    const { key, app, roleId, users } = await pickAppRole(1);
    const user = users[1];
    await provision('GRANT', key, user);

    const stats = await racedSync(isAssignmentsBatch, async () => {
      await provision('REVOKE', key, user);
      expect(
        await graphWrite(`/servicePrincipals/${app}/appRoleAssignedTo`, { principalId: user, resourceId: app, appRoleId: roleId }),
      ).toBe(201);
    });
    expect(await hasGrant(key, user)).toBe(true);
    expect(stats['additionsConfirmed']).toBeGreaterThanOrEqual(1);
    // The assignment id is the new one Graph gave, so the database equals the tenant.
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });
});
