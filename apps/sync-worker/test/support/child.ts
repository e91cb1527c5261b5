import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.ts');

export interface ChildWorker {
  proc: ChildProcess;
  output(): string;
  ready: Promise<void>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** The real deployable (`tsx src/main.ts`) in its own process, so a test can SIGKILL it. */
export function spawnWorker(env: Record<string, string>): ChildWorker {
  // At the test runner's priority: the default nice 10 (priority.test.ts) would let the other test
  // files CI runs at the same time starve this run past its timeouts.
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, SYNC_WORKER_NICE: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    proc.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('sync worker started')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${out}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    ready,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
