import { randomBytes } from 'node:crypto';
import { startEmulator, type RunningEmulator, type StartOptions as EmulatorOptions } from '@warden/graph-emulator';
import { type ProvisioningTaskRow } from '@warden/database';
import { SecretBox } from '@warden/service-kit';
import { createTestBus, TEST_NATS_URL, type TestBus } from '@warden/bus/testing';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { startProvisionWorker, type ProvisionWorker } from '../../src';
import {
  requestProvisioning,
  type ProvisioningRequestInput,
  type ProvisioningRequestOptions as RequestOptions,
} from '@warden/access-model';
import { insertConnector, seedFromExport } from './seed';

export interface Harness {
  emulator: RunningEmulator;
  tdb: TestDatabase;
  tbus: TestBus;
  box: SecretBox;
  secretKeys: string;
  /** Connector of the emulator's `provisioning` app. */
  connectorId: string;
  env(overrides?: Record<string, string>): Record<string, string>;
  startWorker(overrides?: Record<string, string>): Promise<ProvisionWorker>;
  entitlementId(key: string, connectorId?: string): Promise<string>;
  resourceId(externalId: string, connectorId?: string): Promise<string>;
  request(
    input: Omit<ProvisioningRequestInput, 'entitlementId' | 'principalId' | 'requestedBy'> & {
      entitlementKey: string;
      principal: string;
      connectorId?: string;
      requestedBy?: string;
    },
    opts?: RequestOptions,
  ): Promise<ProvisioningTaskRow>;
  waitForTask(taskId: string, timeoutMs?: number): Promise<ProvisioningTaskRow>;
  close(): Promise<void>;
}

export async function createHarness(emulatorOptions: EmulatorOptions = {}): Promise<Harness> {
  const emulator = await startEmulator({
    size: 'S',
    seed: 7,
    port: 0,
    ...emulatorOptions,
    settings: { latencyMs: 0, jitterMs: 0, faultRate: 0, ...emulatorOptions.settings },
  });
  const tdb = await createTestDatabase('prov_test');
  const tbus = await createTestBus({ ackWaitMs: 2_000 });
  const secretKeys = `t1:${randomBytes(32).toString('base64')}`;
  const box = SecretBox.fromConfig(secretKeys);
  const connectorId = await insertConnector(tdb.db, box, emulator.config, emulator.app('provisioning'));
  await seedFromExport(tdb.db, connectorId, emulator.exportTenant());
  const workers: ProvisionWorker[] = [];

  const h: Harness = {
    emulator,
    tdb,
    tbus,
    box,
    secretKeys,
    connectorId,
    env: (overrides = {}) => ({
      DATABASE_URL: tdb.url,
      NATS_URL: TEST_NATS_URL,
      BUS_NAMESPACE: tbus.namespace,
      WARDEN_SECRET_KEYS: secretKeys,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      PROVISION_CONCURRENCY: '8',
      EXPIRY_SCAN_INTERVAL_MS: '500',
      NATS_ACK_WAIT_MS: '2000',
      // The worker re-checks every connector's stored hosts; the emulator is one of them here.
      ALLOWED_GRAPH_HOSTS: `graph.microsoft.com,login.microsoftonline.com,${new URL(emulator.config.baseUrl).host}`,
      ...overrides,
    }),
    async startWorker(overrides) {
      const w = await startProvisionWorker(h.env(overrides));
      workers.push(w);
      return w;
    },
    async entitlementId(key, cid = connectorId) {
      const row = await tdb.db
        .selectFrom('entitlements')
        .select('id')
        .where('connector_id', '=', cid)
        .where('key', '=', key)
        .executeTakeFirstOrThrow();
      return row.id;
    },
    async resourceId(externalId, cid = connectorId) {
      const row = await tdb.db
        .selectFrom('resources')
        .select('id')
        .where('connector_id', '=', cid)
        .where('external_id', '=', externalId)
        .executeTakeFirstOrThrow();
      return row.id;
    },
    async request(input, opts) {
      const cid = input.connectorId ?? connectorId;
      return requestProvisioning(
        tdb.db,
        tbus.bus,
        {
          action: input.action,
          entitlementId: await h.entitlementId(input.entitlementKey, cid),
          principalId: await h.resourceId(input.principal, cid),
          requestedBy: input.requestedBy ?? 'alice',
          reason: input.reason,
          expiresAt: input.expiresAt,
          idempotencyKey: input.idempotencyKey,
        },
        opts,
      );
    },
    async waitForTask(taskId, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const t = await tdb.db.selectFrom('provisioning_tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow();
        if (t.status === 'SUCCEEDED' || t.status === 'FAILED') return t;
        if (Date.now() > deadline) throw new Error(`task ${taskId} still ${t.status} after ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await tbus.destroy();
      await tdb.drop();
      await emulator.close();
    },
  };
  return h;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
