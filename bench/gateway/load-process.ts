/**
 * The open-loop sender in a process of its own. Latency is counted from the moment a request was due,
 * so any pause of the sender is counted as the server's: in the bench's main process that included its
 * own garbage collections (it holds the population, every window's outcomes, the write driver and the
 * samplers; 5–30 ms each, several a second) and, on a saturated machine, waits for a core. Real clients
 * are on other machines. Here the sender holds only its window, and asks for a higher CPU priority
 * (nice −5, when allowed): the servers get no less CPU than before — less, if anything — and the
 * sender's own scheduling delays stop being reported as theirs. One sender serves the whole bench, so
 * its start-up (loading and compiling its modules) happens once, before any window.
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { OPEN_LOOP_START_DELAY_MS, runOpenLoop, type Outcome, type Target } from './load';
import type { Req } from './workload';

interface Job {
  target: Target;
  reqs: Req[];
  tokens: string[];
  opts: { sockets: number; timeoutMs: number; maxOutstanding: number };
}

export interface SenderRun {
  outcomes: Outcome[];
  /** When the run's clock started (epoch ms): request times in `outcomes` count from here. */
  startedAtEpochMs: number;
  /** The sender's CPU time over the run (ms) and its event-loop delay (how late its timers fired). */
  cpuMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export const SENDER_PRIORITY = -5;

export interface Sender {
  run(target: Target, reqs: Req[], tokens: string[], opts: Job['opts']): Promise<SenderRun>;
  stop(): void;
}

/** Starts the sender process; `run` is `runOpenLoop` there, one run at a time. */
export async function startSender(): Promise<Sender> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: [...process.execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    os.setPriority(child.pid!, SENDER_PRIORITY);
  } catch {
    // Not allowed for this user: the sender runs at the default priority.
  }
  let pending: { resolve(r: SenderRun): void; reject(e: Error): void } | null = null;
  let exited = false;
  child.on('message', (m: SenderRun | 'ready') => {
    if (m === 'ready') return;
    const p = pending;
    pending = null;
    p?.resolve(m);
  });
  child.once('exit', (code) => {
    exited = true;
    pending?.reject(new Error(`the sender exited with ${code} during a run`));
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the sender exited with ${code} while starting`)));
  });
  return {
    run(target, reqs, tokens, opts) {
      if (exited) return Promise.reject(new Error('the sender is gone'));
      if (pending) return Promise.reject(new Error('the sender runs one window at a time'));
      return new Promise<SenderRun>((resolve, reject) => {
        pending = { resolve, reject };
        child.send({ target: { name: target.name, kind: target.kind, url: target.url }, reqs, tokens, opts } satisfies Job);
      });
    },
    stop() {
      if (!exited) child.disconnect();
    },
  };
}

if (process.argv.includes('--child')) {
  process.on('message', (job: Job) => {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const cpu0 = process.cpuUsage();
    const startedAtEpochMs = performance.timeOrigin + performance.now();
    void runOpenLoop(job.target, job.reqs, job.tokens, job.opts).then((outcomes) => {
      lag.disable();
      const cpu = process.cpuUsage(cpu0);
      process.send!({
        outcomes,
        startedAtEpochMs: startedAtEpochMs + OPEN_LOOP_START_DELAY_MS,
        cpuMs: (cpu.user + cpu.system) / 1000,
        loopDelayP99Ms: Math.round(lag.percentile(99) / 1e5) / 10,
        loopDelayMaxMs: Math.round(lag.max / 1e5) / 10,
      } satisfies SenderRun);
    });
  });
  process.send!('ready');
}
