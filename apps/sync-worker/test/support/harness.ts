import { randomBytes } from 'node:crypto';
import { startEmulator, type EmulatorApp, type RunningEmulator, type StartOptions as EmulatorOptions } from '@warden/graph-emulator';
import { type SyncMode, type SyncRunRow, type SyncRunStatus } from '@warden/database';
import { sealCredentials, SecretBox } from '@warden/service-kit';
import { createTestBus, TEST_NATS_URL, type TestBus } from '@warden/bus/testing';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import pino from 'pino';
import { sql } from 'kysely';
import { RESOURCE_TYPE_LIST } from '@warden/access-model';
import { parseEnvironment, requestSync, startSyncWorker, type SyncWorker } from '../../src';
import { diffDatabase, type DiffReport } from './compare';
import { expectedModel } from './expected';

export interface Harness {
  emulator: RunningEmulator;
  tdb: TestDatabase;
  tbus: TestBus;
  box: SecretBox;
  env(overrides?: Record<string, string>): Record<string, string>;
  addConnector(opts?: { app?: string; skipAdGroups?: boolean; secret?: string }): Promise<string>;
  startWorker(overrides?: Record<string, string>): Promise<SyncWorker>;
  /** Stops every worker started so far (to start one with other settings). */
  closeWorkers(): Promise<void>;
  trigger(connectorId: string, mode: SyncMode): Promise<string>;
  waitForRun(runId: string, timeoutMs?: number, until?: SyncRunStatus[]): Promise<SyncRunRow>;
  /** Triggers a run and waits for it to finish. */
  sync(connectorId: string, mode: SyncMode, timeoutMs?: number): Promise<SyncRunRow>;
  diff(connectorId: string, opts?: { skipAdGroups?: boolean }): Promise<DiffReport>;
  /** The row counts a run's stats report, counted row by row now (the stats read migration 0015's running counts). */
  countedStats(connectorId: string): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function createHarness(emulatorOptions: EmulatorOptions = {}): Promise<Harness> {
  const emulator = await startEmulator({
    size: 'S',
    seed: 11,
    port: 0,
    ...emulatorOptions,
    settings: { latencyMs: 0, jitterMs: 0, faultRate: 0, ...emulatorOptions.settings },
  });
  const tdb = await createTestDatabase('sync_test');
  const tbus = await createTestBus({ ackWaitMs: 3_000 });
  const secretKeys = `t1:${randomBytes(32).toString('base64')}`;
  const box = SecretBox.fromConfig(secretKeys);
  const workers: SyncWorker[] = [];
  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: tdb.url,
    NATS_URL: TEST_NATS_URL,
    BUS_NAMESPACE: tbus.namespace,
    WARDEN_SECRET_KEYS: secretKeys,
    LOG_LEVEL: 'warn',
    SCHEDULER_INTERVAL_MS: '0',
    NATS_ACK_WAIT_MS: '3000',
    SYNC_GRAPH_MAX_RETRY_MS: '60000',
    // The worker re-checks every connector's stored hosts; the emulator is one of them here.
    ALLOWED_GRAPH_HOSTS: `graph.microsoft.com,login.microsoftonline.com,${new URL(emulator.config.baseUrl).host}`,
    ...overrides,
  });
  const h: Harness = {
    emulator,
    tdb,
    tbus,
    box,
    env,
    async addConnector(opts = {}) {
      const app: EmulatorApp = emulator.app(opts.app ?? 'readonly');
      const row = await tdb.db
        .insertInto('connectors')
        .values({
          display_name: `emulator (${app.name})`,
          tenant_id: emulator.config.tenantId,
          client_id: app.clientId,
          auth_method: 'CLIENT_SECRET',
          graph_base_url: emulator.config.baseUrl,
          authority_host: emulator.config.authorityHost,
          skip_ad_groups: opts.skipAdGroups ?? false,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await tdb.db
        .updateTable('connectors')
        .set({ secret_ciphertext: sealCredentials(box, row.id, { kind: 'secret', clientSecret: opts.secret ?? app.clientSecret }) })
        .where('id', '=', row.id)
        .execute();
      return row.id;
    },
    async startWorker(overrides = {}) {
      const w = await startSyncWorker(parseEnvironment(env(overrides)), {
        logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'error' }, pino.destination(2)),
      });
      workers.push(w);
      return w;
    },
    async closeWorkers() {
      for (const w of workers.splice(0)) await w.close();
    },
    async trigger(connectorId, mode) {
      const { run } = await requestSync(tdb.db, tbus.bus, { connectorId, mode, requestedBy: 'test' });
      return run.id;
    },
    async waitForRun(runId, timeoutMs = 60_000, until = ['SUCCEEDED', 'FAILED', 'CANCELLED']) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = await tdb.db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
        if (until.includes(run.status)) return run;
        if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} (${run.progress ?? ''}) after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async sync(connectorId, mode, timeoutMs) {
      return h.waitForRun(await h.trigger(connectorId, mode), timeoutMs);
    },
    async diff(connectorId, opts = {}) {
      return diffDatabase(tdb.db, connectorId, expectedModel(emulator.exportTenant(), opts));
    },
    async countedStats(connectorId) {
      const types = await sql<{ type: string; n: number }>`
        SELECT type, count(*)::int AS n FROM resources WHERE connector_id = ${connectorId}::uuid GROUP BY type`.execute(tdb.db);
      const grants = await sql<{ direct: boolean; n: number }>`
        SELECT direct, count(*)::int AS n FROM grants WHERE connector_id = ${connectorId}::uuid GROUP BY direct`.execute(tdb.db);
      const out: Record<string, number> = {};
      for (const t of RESOURCE_TYPE_LIST) out[t.statsKey] = types.rows.find((r) => r.type === t.type)?.n ?? 0;
      out['directGrants'] = grants.rows.find((r) => r.direct)?.n ?? 0;
      out['inheritedGrants'] = grants.rows.find((r) => !r.direct)?.n ?? 0;
      out['grants'] = out['directGrants'] + out['inheritedGrants'];
      return out;
    },
    async close() {
      for (const w of workers.splice(0)) await w.close().catch(() => undefined);
      await tbus.destroy().catch(() => undefined);
      await tdb.drop().catch(() => undefined);
      await emulator.close();
    },
  };
  return h;
}
