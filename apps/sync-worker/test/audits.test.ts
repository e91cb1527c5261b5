import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change } from '@warden/graph-emulator';
import { createHarness, type Harness } from './support/harness';

const ASSIGNED_TO = 'GET /servicePrincipals/{id}/appRoleAssignedTo';
const OWNERS = 'GET /servicePrincipals/{id}/owners';
const AUDITS = 'GET /auditLogs/directoryAudits';

/** The apps whose assignments or owners a list of changes touched (mutate assigns users and groups, owners are users). */
function appsChangedBy(changes: Change[]): Set<string> {
  const kinds = new Set([
    'appRoleAssignmentCreated',
    'appRoleAssignmentDeleted',
    'servicePrincipalOwnerAdded',
    'servicePrincipalOwnerRemoved',
  ]);
  return new Set(changes.filter((c) => kinds.has(c.kind)).map((c) => c.objectId));
}

describe('incremental app access through the directory audit log', () => {
  let h: Harness;
  let connectorId: string;
  let apps: number;

  const requests = (route: string): number => Object.values(h.emulator.stats().byRoute[route] ?? {}).reduce((a, b) => a + b, 0);
  const logs = async (runId: string) =>
    (await h.tdb.db.selectFrom('connector_logs').select(['level', 'message']).where('sync_run_id', '=', runId).execute()).map(
      (l) => `${l.level} ${l.message}`,
    );

  beforeAll(async () => {
    h = await createHarness({ size: 'S', seed: 23 });
    await h.startWorker();
    connectorId = await h.addConnector();
    const full = await h.sync(connectorId, 'FULL');
    expect(full.status).toBe('SUCCEEDED');
    apps = full.stats.enterpriseApplications ?? 0;
    expect(apps).toBeGreaterThan(10);
  });
  afterAll(() => h.close());

  it('after churn, an incremental run reads the assignments and owners of only the apps that changed, and is exact', async () => {
    let changes: Change[] = [];
    // Enough changes that some apps' assignments or owners changed, but a minority of the apps.
    for (let seed = 40; appsChangedBy(changes).size < 2 && seed < 60; seed++) changes = changes.concat(h.emulator.mutate(60, seed));
    const changed = appsChangedBy(changes);
    expect(changed.size).toBeGreaterThanOrEqual(2);
    expect(changed.size).toBeLessThan(apps / 2);
    h.emulator.resetStats();
    const run = await h.sync(connectorId, 'INCREMENTAL');
    expect(run.status, run.error ?? '').toBe('SUCCEEDED');
    expect((await h.diff(connectorId)).differences).toEqual([]);
    expect(requests(AUDITS)).toBe(1);
    // One read per changed app and collection, nothing for the others.
    expect(requests(ASSIGNED_TO)).toBe(changed.size);
    expect(requests(OWNERS)).toBe(changed.size);
    expect(run.stats['appsReadIncremental']).toBe(1);
    expect(run.stats['auditEntries']).toBeGreaterThanOrEqual(changed.size);
    // The cursor advanced with the run: a second incremental run reads the overlap again (the same apps), nothing new.
    const cursor = await h.tdb.db
      .selectFrom('delta_state')
      .select('delta_link')
      .where('connector_id', '=', connectorId)
      .where('stream', '=', 'directoryAudits')
      .executeTakeFirstOrThrow();
    expect(Date.parse(cursor.delta_link)).toBeGreaterThan(Date.parse(String(run.started_at?.toISOString())) - 1);
  });

  it('an incremental run with nothing new in the overlap window reads no app', async () => {
    // A zero overlap: only entries since the last run's cursor count.
    await h.closeWorkers();
    await h.startWorker({ SYNC_AUDIT_OVERLAP_SECONDS: '0' });
    h.emulator.resetStats();
    const run = await h.sync(connectorId, 'INCREMENTAL');
    expect(run.status).toBe('SUCCEEDED');
    expect(requests(ASSIGNED_TO)).toBe(0);
    expect(requests(OWNERS)).toBe(0);
    expect(run.stats['rowsDeleted']).toBe(0);
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });

  it('events Graph shows late are caught by the next run through the overlap window', async () => {
    h.emulator.updateAuditLogSettings({ latencyMs: 2_000 });
    try {
      await h.closeWorkers();
      await h.startWorker({ SYNC_AUDIT_OVERLAP_SECONDS: '60' });
      const before = h.emulator.auditLog().length;
      let changes: Change[] = [];
      for (let seed = 70; appsChangedBy(changes).size < 1 && seed < 90; seed++) changes = changes.concat(h.emulator.mutate(30, seed));
      const changed = appsChangedBy(changes);
      expect(changed.size).toBeGreaterThanOrEqual(1);
      // The run starts before the entries are visible (2 s): it cannot see those apps' changes yet.
      h.emulator.resetStats();
      const early = await h.sync(connectorId, 'INCREMENTAL');
      expect(early.status).toBe('SUCCEEDED');
      const earlyReads = requests(ASSIGNED_TO);
      // Once Graph shows them, the next run (its window reaches back 60 s before its cursor) reads them.
      await expect
        .poll(() => h.emulator.auditLog().filter((e) => Date.parse(String(e['activityDateTime'])) <= Date.now() - 2_000).length, {
          timeout: 30_000,
          interval: 200,
        })
        .toBe(h.emulator.auditLog().length);
      expect(h.emulator.auditLog().length).toBeGreaterThan(before);
      h.emulator.resetStats();
      const late = await h.sync(connectorId, 'INCREMENTAL');
      expect(late.status).toBe('SUCCEEDED');
      expect((await h.diff(connectorId)).differences).toEqual([]);
      expect(requests(ASSIGNED_TO) + earlyReads).toBeGreaterThanOrEqual(changed.size);
      expect(requests(ASSIGNED_TO)).toBeGreaterThanOrEqual(changed.size);
    } finally {
      h.emulator.updateAuditLogSettings({ latencyMs: 0 });
    }
  });

  it('a tenant whose audit log Graph refuses (403): every app is read again, with a coded WARN line, and the run is exact', async () => {
    h.emulator.updateAuditLogSettings({ licensed: false });
    try {
      h.emulator.mutate(40, 91);
      h.emulator.resetStats();
      const run = await h.sync(connectorId, 'INCREMENTAL');
      expect(run.status).toBe('SUCCEEDED');
      expect(requests(ASSIGNED_TO)).toBe(apps);
      expect(run.stats['auditUnavailable']).toBe(1);
      expect(run.stats['appsReadFull']).toBe(1);
      expect(
        (await logs(run.id)).some((l) => /^WARN AUDIT_LOG_FORBIDDEN: .*403 Authentication_RequestFromNonPremiumTenantOrB2CTenant/.test(l)),
      ).toBe(true);
      expect((await h.diff(connectorId)).differences).toEqual([]);
    } finally {
      h.emulator.updateAuditLogSettings({ licensed: true });
    }
  });

  it('the periodic full read: with SYNC_APP_ACCESS_FULL_READ_SECONDS=0 every incremental run reads every app', async () => {
    await h.closeWorkers();
    await h.startWorker({ SYNC_APP_ACCESS_FULL_READ_SECONDS: '0' });
    h.emulator.mutate(20, 92);
    h.emulator.resetStats();
    const run = await h.sync(connectorId, 'INCREMENTAL');
    expect(run.status).toBe('SUCCEEDED');
    expect(requests(AUDITS)).toBe(0);
    expect(requests(ASSIGNED_TO)).toBe(apps);
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });
});
