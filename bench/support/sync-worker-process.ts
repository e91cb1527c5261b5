import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { SYNC_WORKER_NODE_FLAGS } from '../../apps/sync-worker/src/heap';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../apps/sync-worker/src/main.ts');

export interface SyncWorkerProcess {
  proc: ChildProcess;
  /** Resolves when the worker logged that it started; rejects if it exits first. */
  ready: Promise<void>;
  /** The last part of its log (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The deployable sync worker in its own process, started as docker-compose.yml and `npm start` start
 * it: with its V8 heap budget (`SYNC_WORKER_NODE_FLAGS`, see the sync worker's README, "Memory").
 */
export function startSyncWorkerProcess(env: Record<string, string>): SyncWorkerProcess {
  const proc = spawn(process.execPath, [...SYNC_WORKER_NODE_FLAGS, '--import', 'tsx', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
      if (out.includes('sync worker started')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`sync worker exited (${code}):\n${out}`)));
  });
  return {
    proc,
    ready,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
