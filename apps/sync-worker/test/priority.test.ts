import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBus, TEST_NATS_URL, type TestBus } from '@warden/bus/testing';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Nice value of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

let tdb: TestDatabase;
let tbus: TestBus;
beforeAll(async () => {
  tdb = await createTestDatabase('sync_priority');
  tbus = await createTestBus();
});
afterAll(async () => {
  await tbus?.destroy();
  await tdb?.drop();
});

/** Starts the deployable (src/main.ts) and returns its thread nices once it is up, then stops it. */
async function nicesOfRunningWorker(extra: Record<string, string>): Promise<number[]> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, '../src/main.ts')], {
    cwd: path.join(HERE, '..'),
    env: {
      ...process.env,
      DATABASE_URL: tdb.url,
      NATS_URL: TEST_NATS_URL,
      BUS_NAMESPACE: tbus.namespace,
      WARDEN_SECRET_KEYS: `t1:${Buffer.alloc(32, 7).toString('base64')}`,
      SCHEDULER_INTERVAL_MS: '0',
      LOG_LEVEL: 'info',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('sync worker started')) {
      if (proc.exitCode !== null) throw new Error(`the worker exited: ${out}`);
      if (Date.now() > deadline) throw new Error(`the worker did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return threadNices(proc.pid!);
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  }
}

describe('the worker CPU priority', () => {
  it('runs every thread of the deployable at SYNC_WORKER_NICE (default 10), and leaves it alone at 0', async () => {
    const mine = threadNices(process.pid)[0]!;
    const byDefault = await nicesOfRunningWorker({});
    expect(byDefault.length).toBeGreaterThan(3);
    expect(new Set(byDefault)).toEqual(new Set([Math.max(10, mine)]));
    const set = await nicesOfRunningWorker({ SYNC_WORKER_NICE: '15' });
    expect(new Set(set)).toEqual(new Set([Math.max(15, mine)]));
    const off = await nicesOfRunningWorker({ SYNC_WORKER_NICE: '0' });
    expect(new Set(off)).toEqual(new Set([mine]));
  });

  it('refuses a value outside 0–19 with the variable named', async () => {
    await expect(nicesOfRunningWorker({ SYNC_WORKER_NICE: '25' })).rejects.toThrow(/SYNC_WORKER_NICE/);
  });
});
