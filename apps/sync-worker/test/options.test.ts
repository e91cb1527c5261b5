import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './support/harness';

describe('connector options and permissions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ seed: 31 });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
  });

  it('skipAdGroups leaves out on-premises-synced groups together with their grants', async () => {
    const synced = h.emulator.exportTenant().groups.filter((g) => g['onPremisesSyncEnabled'] === true);
    expect(synced.length).toBeGreaterThan(0);
    const c = await h.addConnector({ skipAdGroups: true });
    const run = await h.sync(c, 'FULL');
    expect(run.error).toBeNull();
    expect((await h.diff(c, { skipAdGroups: true })).differences).toEqual([]);
    const rows = await h.tdb.db
      .selectFrom('resources')
      .select('external_id')
      .where('connector_id', '=', c)
      .where(
        'external_id',
        'in',
        synced.map((g) => g.id),
      )
      .execute();
    expect(rows).toEqual([]);
    expect(run.stats['skippedOnPremisesGroups']).toBe(synced.length);
  });

  it('turning skipAdGroups on later removes the synced groups already stored, on the next incremental sync', async () => {
    const c = await h.addConnector();
    expect((await h.sync(c, 'FULL')).status).toBe('SUCCEEDED');
    expect((await h.diff(c)).differences).toEqual([]);
    await h.tdb.db.updateTable('connectors').set({ skip_ad_groups: true }).where('id', '=', c).execute();
    const run = await h.sync(c, 'INCREMENTAL');
    expect(run.error).toBeNull();
    expect((await h.diff(c, { skipAdGroups: true })).differences).toEqual([]);
  });

  it('an app that may read only some object types syncs those, skips the rest with a log line, and succeeds', async () => {
    const app = h.emulator.app('readonly');
    const roles = app.roles;
    // The emulator issues tokens from its app registry: narrow the consented permissions for this run.
    app.roles = ['User.Read.All', 'GroupMember.Read.All'];
    try {
      const c = await h.addConnector();
      const run = await h.sync(c, 'FULL');
      expect(run.status).toBe('SUCCEEDED');
      expect(run.stats).toMatchObject({ users: h.emulator.exportTenant().users.length, enterpriseApplications: 0, directoryRoles: 0 });
      expect(run.stats.groups).toBeGreaterThan(0);
      const logs = await h.tdb.db.selectFrom('connector_logs').select(['level', 'message']).where('sync_run_id', '=', run.id).execute();
      expect(
        logs
          .filter((l) => l.level === 'WARN')
          .map((l) => l.message)
          .join('\n'),
      ).toMatch(/skipped enterprise applications and managed identities: the app has none of Application\.Read\.All/);
      const connector = await h.tdb.db
        .selectFrom('connectors')
        .select(['status', 'status_message', 'missing_permissions'])
        .where('id', '=', c)
        .executeTakeFirstOrThrow();
      expect(connector.status).toBe('CONNECTED');
      expect(connector.status_message).toMatch(/skipped directory roles/);
      expect(connector.missing_permissions).toContain('Application.Read.All');
    } finally {
      app.roles = roles;
    }
  });
});
