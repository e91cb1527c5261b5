import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { SyncRunUpdated } from '@warden/bus';
import { handleSyncRequested } from '../src';
import { createHarness, type Harness } from './support/harness';

describe('full and incremental sync against the emulator', () => {
  let h: Harness;
  let connectorId: string;
  const events: SyncRunUpdated[] = [];
  let metricsUrl: string | null = null;
  let fullRunRequests = -1;

  beforeAll(async () => {
    h = await createHarness({ seed: 11 });
    connectorId = await h.addConnector();
    h.tbus.bus.subscribeSyncRunUpdated(connectorId, (e) => events.push(e));
    metricsUrl = (await h.startWorker({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' })).metricsUrl;
  });
  afterAll(async () => {
    await h.close();
  });

  /** `<roleId> <scope> <principal>` of every active assignment over an administrative unit. */
  const scopedInTenant = () =>
    new Set(
      h.emulator
        .exportTenant()
        .roleAssignments.filter((a) => a['directoryScopeId'] !== '/')
        .map((a) => `${String(a['roleDefinitionId'])} ${String(a['directoryScopeId'])} ${String(a['principalId'])}`),
    );
  const scopedGrants = async () =>
    new Set(
      (
        await h.tdb.db
          .selectFrom('grants')
          .select(['entitlement_key', 'principal_external_id'])
          .where('connector_id', '=', connectorId)
          .where('entitlement_key', 'like', 'DIRECTORY_ROLE:%:assigned@%')
          .execute()
      ).map((g) => `${g.entitlement_key.split(':')[1]} ${g.entitlement_key.split(':assigned@')[1]} ${g.principal_external_id}`),
    );

  it('a full sync makes the database equal to the tenant', async () => {
    const run = await h.sync(connectorId, 'FULL');
    expect(run.error).toBeNull();
    expect(run.status).toBe('SUCCEEDED');
    const d = await h.diff(connectorId);
    expect(d.differences).toEqual([]);
    expect(d.counts.inherited).toBeGreaterThan(0);
    expect(d.counts.scopedRoles).toBeGreaterThan(0);

    const t = h.emulator.exportTenant();
    expect(run.stats).toMatchObject({
      users: t.users.length,
      groups: t.groups.length,
      grants: d.counts.grants,
      inheritedGrants: d.counts.inherited,
    });
    expect(run.stats.graphRequests).toBeGreaterThan(0);
    fullRunRequests = Number(run.stats.graphRequests);
    expect(run.stats['graphBatchItems']).toBeGreaterThan(run.stats['graphBatchCalls'] ?? 0);
    expect(run.stats.skippedPrincipals).toBeGreaterThan(0); // the generator always puts a device and a contact in a group
    // Role assignments over an administrative unit are grants of their own (role, scope) entitlement, named after the unit.
    const scoped = await scopedGrants();
    expect(scoped.size).toBeGreaterThan(0);
    expect(scoped).toEqual(scopedInTenant());
    const names = await h.tdb.db
      .selectFrom('entitlements')
      .select('display_name')
      .where('connector_id', '=', connectorId)
      .where('slug', 'like', 'assigned@/administrativeUnits/%')
      .execute();
    expect(names.length).toBeGreaterThan(scoped.size - 1);
    expect(names.every((n) => /^.+ \(administrative unit: [A-Z][a-z]+\)$/.test(n.display_name))).toBe(true);
    // Roles over one app registration too, named after the application (read from /applications).
    const appNames = new Set(h.emulator.exportTenant().applications.map((a) => String(a['displayName'])));
    const appScoped = await h.tdb.db
      .selectFrom('entitlements')
      .select(['display_name', 'metadata'])
      .where('connector_id', '=', connectorId)
      .where('slug', 'like', 'assigned@/%')
      .where('slug', 'not like', 'assigned@/administrativeUnits/%')
      .execute();
    expect(appScoped.length).toBeGreaterThan(0);
    for (const e of appScoped) {
      const m = /^.+ \(application: (.+)\)$/.exec(e.display_name);
      expect(m && appNames.has(m[1]!), e.display_name).toBe(true);
      expect((e.metadata as { scopeType?: string }).scopeType).toBe('application');
    }

    const connector = await h.tdb.db.selectFrom('connectors').selectAll().where('id', '=', connectorId).executeTakeFirstOrThrow();
    expect(connector.status).toBe('CONNECTED');
    expect(connector.last_full_sync_at).not.toBeNull();
    expect(connector.granted_permissions.length).toBeGreaterThan(0);
    const streams = await h.tdb.db.selectFrom('delta_state').select('stream').where('connector_id', '=', connectorId).execute();
    // The three delta streams, and app access's directory audit cursor.
    expect(streams.map((s) => s.stream).sort()).toEqual(['directoryAudits', 'groups', 'servicePrincipals', 'users']);
    const logs = await h.tdb.db.selectFrom('connector_logs').select(['level', 'message']).where('sync_run_id', '=', run.id).execute();
    expect(logs.some((l) => l.message.startsWith('Full sync finished'))).toBe(true);
    expect(logs.some((l) => /not users, groups or service principals/.test(l.message))).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const statuses = events.filter((e) => e.runId === run.id).map((e) => e.status);
    expect(statuses).toContain('RUNNING');
    expect(statuses.at(-1)).toBe('SUCCEEDED');
  });

  it('exports graph-core counters and run outcomes as Prometheus metrics', async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(metricsUrl!);
    expect(res.status).toBe(200);
    const text = await res.text();
    const value = (metric: string, labels: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(labels));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
    };
    const tenant = `tenant="${h.emulator.config.tenantId}"`;
    expect(value('warden_graph_requests_total', `${tenant},route="GET /users/delta"`)).toBeGreaterThan(0);
    expect(value('warden_graph_requests_total', `${tenant},route="POST /$batch"`)).toBeGreaterThan(0);
    expect(value('warden_graph_resource_units_total', `${tenant},route="GET /users/delta"`)).toBeGreaterThan(0);
    expect(value('warden_graph_request_duration_seconds_count', `${tenant},route="GET /users/delta"`)).toBe(
      value('warden_graph_requests_total', `${tenant},route="GET /users/delta"`),
    );
    // Only the full sync has run so far: the metrics add up to what its run recorded.
    const total = text
      .split('\n')
      .filter((l) => l.startsWith('warden_graph_requests_total{'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(total).toBe(fullRunRequests);
    expect(value('warden_sync_runs_total', 'outcome="SUCCEEDED"')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('warden_sync_worker_process_cpu_seconds_total');
    expect((await fetch(metricsUrl!.replace('/metrics', '/healthz'))).status).toBe(200);
    expect((await fetch(metricsUrl!.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('after changes in the tenant an incremental sync makes it equal again, with far fewer Graph calls', async () => {
    const full = await h.tdb.db
      .selectFrom('sync_runs')
      .select('stats')
      .where('connector_id', '=', connectorId)
      .where('mode', '=', 'FULL')
      .executeTakeFirstOrThrow();
    const changes = h.emulator.mutate(80, 5);
    expect(changes.some((c) => c.kind === 'userDeleted' || c.kind === 'memberRemoved')).toBe(true);
    const run = await h.sync(connectorId, 'INCREMENTAL');
    expect(run.error).toBeNull();
    expect((await h.diff(connectorId)).differences).toEqual([]);
    expect(run.stats['rowsDeleted']).toBeGreaterThan(0);
    expect(run.stats.graphRequests).toBeLessThan(full.stats.graphRequests ?? 0);
  });

  it('an incremental sync with nothing changed deletes nothing and stays equal', async () => {
    const run = await h.sync(connectorId, 'INCREMENTAL');
    expect(run.status).toBe('SUCCEEDED');
    expect(run.stats['rowsDeleted']).toBe(0);
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });

  it('scoped role assignments added and removed in the tenant follow in incremental syncs', async () => {
    let seed = 100;
    // First one is added, then one the database holds is removed; each followed by an incremental sync.
    for (const step of ['added', 'removed'] as const) {
      const before = scopedInTenant();
      const changed = (now: Set<string>) =>
        step === 'added' ? [...now].some((x) => !before.has(x)) : [...before].some((x) => !now.has(x));
      while (!changed(scopedInTenant()) && seed < 300) h.emulator.mutate(20, seed++);
      const after = scopedInTenant();
      expect(changed(after)).toBe(true);
      const run = await h.sync(connectorId, 'INCREMENTAL');
      expect(run.error).toBeNull();
      expect((await h.diff(connectorId)).differences).toEqual([]);
      expect(await scopedGrants()).toEqual(after);
    }
  });

  it('a forced resync (410 from delta) falls back to a full pass by itself', async () => {
    h.emulator.mutate(40, 6);
    h.emulator.updateSettings({ forceResync: true });
    const run = await h.sync(connectorId, 'INCREMENTAL');
    expect(run.error).toBeNull();
    const logs = await h.tdb.db.selectFrom('connector_logs').select('message').where('sync_run_id', '=', run.id).execute();
    expect(logs.some((l) => /full resync/.test(l.message))).toBe(true);
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });

  it('expired delta tokens (syncStateNotFound) fall back too', async () => {
    h.emulator.updateSettings({ deltaTokenTtlSeconds: 1 });
    h.emulator.mutate(30, 7);
    await new Promise((r) => setTimeout(r, 1_200));
    const run = await h.sync(connectorId, 'INCREMENTAL');
    h.emulator.updateSettings({ deltaTokenTtlSeconds: 7 * 24 * 3600 });
    expect(run.error).toBeNull();
    expect((await h.diff(connectorId)).differences).toEqual([]);
  });

  it('a redelivered message for a finished run changes nothing', async () => {
    const last = await h.tdb.db
      .selectFrom('sync_runs')
      .selectAll()
      .where('connector_id', '=', connectorId)
      .orderBy('queued_at', 'desc')
      .executeTakeFirstOrThrow();
    // NATS would drop a re-publish as a duplicate; call the handler as a redelivery would.
    const outcome = await handleSyncRequested(
      {
        db: h.tdb.db,
        bus: h.tbus.bus,
        box: h.box,
        logger: pino({ level: 'silent' }),
        workerId: 'test',
        graph: { maxConcurrency: 4, maxRetryTimeMs: 1_000 },
      },
      { v: 1, runId: last.id, connectorId, mode: last.mode },
    );
    expect(outcome).toEqual({ status: 'SKIPPED', reason: 'run already SUCCEEDED' });
    const after = await h.tdb.db.selectFrom('sync_runs').selectAll().where('id', '=', last.id).executeTakeFirstOrThrow();
    expect(after.attempt).toBe(last.attempt);
    expect(after.finished_at).toEqual(last.finished_at);
  });
});
