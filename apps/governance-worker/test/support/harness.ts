import { Writable } from 'node:stream';
import { createTestBus, type TestBus } from '@warden/bus/testing';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { createLogger } from '@warden/service-kit';
import type { Logger } from 'pino';
import { startGovernanceWorker, type GovernanceWorker, type StartOptions } from '../../src';

/** A test key (32 bytes, base64); not a development key any shipped file carries. */
export const TEST_SECRET_KEYS = `test:${Buffer.alloc(32, 7).toString('base64')}`;

/** JSON log lines of a logger, kept in memory. */
export function memoryLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ name: 'governance-worker', level, destination }), lines };
}

export interface Harness {
  tdb: TestDatabase;
  tbus: TestBus;
  env: Record<string, string>;
  start(env?: Record<string, string>, opts?: StartOptions): Promise<GovernanceWorker>;
  close(): Promise<void>;
}

export async function createHarness(): Promise<Harness> {
  const tdb = await createTestDatabase('warden_gov');
  const tbus = await createTestBus();
  const env = {
    DATABASE_URL: tdb.url,
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    BUS_NAMESPACE: tbus.namespace,
    WARDEN_SECRET_KEYS: TEST_SECRET_KEYS,
    LOG_LEVEL: 'silent',
  };
  const workers: GovernanceWorker[] = [];
  return {
    tdb,
    tbus,
    env,
    async start(extra = {}, opts = {}) {
      const w = await startGovernanceWorker({ ...env, ...extra }, opts);
      workers.push(w);
      return w;
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await tbus.destroy();
      await tdb.drop();
    },
  };
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Receiver {
  url: string;
  ids: string[];
  close(): Promise<void>;
}

/** A real HTTP webhook receiver that accepts only correctly signed requests and records their ids. */
export async function startReceiver(secret: string): Promise<Receiver> {
  const { createServer } = await import('node:http');
  const { verifyWebhook, SIGNATURE_HEADER } = await import('@warden/notifications');
  const ids: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers[SIGNATURE_HEADER];
      const v = verifyWebhook({ secret, header: Array.isArray(header) ? header[0] : header, body });
      if (!v.ok) {
        res.writeHead(401).end(v.reason);
        return;
      }
      ids.push((JSON.parse(body) as { id: string }).id);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    ids,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
