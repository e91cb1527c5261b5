import { readdirSync } from 'node:fs';
import os from 'node:os';

/**
 * A sync is background work: on a host it shares with the gateway (docker compose, `npm start`, a
 * small VM), a full sync can take every core for tens of seconds, and the console's reads queue behind
 * it. The worker therefore runs at a lower CPU priority (a Unix nice value, `SYNC_WORKER_NICE`). On an
 * idle machine nothing changes: the scheduler only weighs priorities when cores are contended. Under
 * contention the worker gets a smaller share, and since it issues every statement its run sends to
 * Postgres, the run's database work is paced by it as well — the interactive requests keep the CPU.
 *
 * Linux keeps a nice value per thread, and a thread inherits it from the one that creates it; the
 * threads that exist already (V8's platform workers, libuv's pool) are lowered one by one, those
 * created later inherit it from the main thread. Never raises a priority. Returns the threads lowered.
 */
export function lowerOwnPriority(nice: number): number {
  if (nice <= 0) return 0;
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    tids = [process.pid]; // not Linux: the process as a whole, where the platform has one value
  }
  let lowered = 0;
  for (const tid of tids) {
    try {
      if (os.getPriority(tid) >= nice) continue;
      os.setPriority(tid, nice);
      lowered++;
    } catch {
      // A thread that ended meanwhile, or a platform without per-thread values.
    }
  }
  return lowered;
}
