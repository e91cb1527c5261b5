import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './support/harness';

async function stageState(h: Harness, runId: string, stage: string): Promise<string | null> {
  const r = await sql<{
    s: string | null;
  }>`SELECT checkpoint -> 'stages' -> ${stage} ->> 'state' AS s FROM sync_runs WHERE id = ${runId}::uuid`.execute(h.tdb.db);
  return r.rows[0]?.s ?? null;
}

async function userProfiles(h: Harness, c: string): Promise<Map<string, Record<string, unknown>>> {
  const rows = await h.tdb.db
    .selectFrom('resources')
    .select(['external_id', 'profile'])
    .where('connector_id', '=', c)
    .where('type', '=', 'USER')
    .execute();
  return new Map(rows.map((r) => [r.external_id, r.profile as Record<string, unknown>]));
}

describe('managers and sign-in activity', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ seed: 57 });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a full sync stores every manager and sign-in time; an incremental one follows manager changes and leaves sign-ins to their schedule', async () => {
    const c = await h.addConnector();
    const full = await h.sync(c, 'FULL');
    expect(full.status).toBe('SUCCEEDED');
    expect((await h.diff(c)).differences).toEqual([]);
    expect(await stageState(h, full.id, 'signIns')).toBe('done');
    const users = h.emulator.exportTenant().users;
    const profiles = await userProfiles(h, c);
    const withManager = users.filter((u) => u['managerId'] !== null);
    expect(withManager.length).toBeGreaterThan(users.length / 2);
    for (const u of withManager) expect(profiles.get(String(u['id']))?.['managerId']).toBe(u['managerId']);
    expect([...profiles.values()].filter((p) => typeof p['lastSignInDateTime'] === 'string').length).toBeGreaterThan(users.length / 2);

    const changes = h.emulator.mutate(120, 11);
    expect(changes.filter((ch) => ch.properties?.includes('manager')).length).toBeGreaterThan(0);
    const inc = await h.sync(c, 'INCREMENTAL');
    expect(inc.status).toBe('SUCCEEDED');
    // Sign-in activity was read a moment ago (default interval one day): this run does not read it.
    expect(await stageState(h, inc.id, 'signIns')).toBeNull();
    expect((await h.diff(c)).differences).toEqual([]);
  });

  it('an app without AuditLog.Read.All syncs users and managers and skips sign-in activity with a reason', async () => {
    const app = h.emulator.app('readonly');
    const roles = app.roles;
    app.roles = roles.filter((r) => r !== 'AuditLog.Read.All');
    try {
      const c = await h.addConnector();
      const run = await h.sync(c, 'FULL');
      expect(run.status).toBe('SUCCEEDED');
      expect(await stageState(h, run.id, 'signIns')).toBe('skipped');
      const logs = await h.tdb.db.selectFrom('connector_logs').select(['level', 'message']).where('sync_run_id', '=', run.id).execute();
      expect(logs.filter((l) => l.level === 'WARN').map((l) => l.message)).toContain(
        'Sync skipped sign-in activity: the app has none of AuditLog.Read.All.',
      );
      const profiles = await userProfiles(h, c);
      expect([...profiles.values()].some((p) => 'lastSignInDateTime' in p)).toBe(false);
      const users = h.emulator.exportTenant().users;
      for (const u of users) expect(profiles.get(String(u['id']))?.['managerId']).toBe(u['managerId']);
    } finally {
      app.roles = roles;
    }
  });
});

describe('sign-in activity on its own schedule', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ seed: 58 });
    await h.startWorker({ SYNC_SIGN_IN_INTERVAL_SECONDS: '0' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('an incremental run reads it again once the interval has passed, and stays exact', async () => {
    const c = await h.addConnector();
    expect((await h.sync(c, 'FULL')).status).toBe('SUCCEEDED');
    h.emulator.mutate(40, 2);
    const inc = await h.sync(c, 'INCREMENTAL');
    expect(inc.status).toBe('SUCCEEDED');
    expect(await stageState(h, inc.id, 'signIns')).toBe('done');
    expect((await h.diff(c)).differences).toEqual([]);
  });
});
