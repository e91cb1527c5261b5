import { readFileSync } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';

/** utime + stime of a process, in seconds (Linux: clock ticks of 1/100 s); 0 once it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of the Postgres backends serving one database during a phase (as bench/sync measures
 * it): their pids are sampled twice a second (pool connections come and go), the last value seen of
 * each counts. A backend that ended between two samples loses at most half a second of its CPU, and
 * parallel workers that live shorter than that are missed, so this is a lower bound.
 */
export function postgresCpu(
  db: Kysely<Database>,
  database: string,
): { start(): Promise<void>; stop(): Promise<number>; perBackend(): Array<{ pid: number; cpu: number }> } {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let timer: NodeJS.Timeout | null = null;
  const sample = async (): Promise<void> => {
    const r = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = ${database}`.execute(db);
    for (const { pid } of r.rows) {
      const cpu = cpuSecondsOf(pid);
      if (cpu === 0) continue;
      // A backend that appears during the phase started in it: all of its CPU counts.
      if (!first.has(pid)) first.set(pid, timer === null ? cpu : 0);
      last.set(pid, cpu);
    }
  };
  return {
    async start() {
      await sample();
      timer = setInterval(() => void sample().catch(() => undefined), 500);
    },
    async stop() {
      await sample();
      if (timer) clearInterval(timer);
      let total = 0;
      for (const [pid, cpu] of last) total += cpu - (first.get(pid) ?? 0);
      return Math.round(total * 100) / 100;
    },
    /** Each backend's share, largest first (the stage's one connection against the partitions'). */
    perBackend() {
      return [...last]
        .map(([pid, cpu]) => ({ pid, cpu: Math.round((cpu - (first.get(pid) ?? 0)) * 100) / 100 }))
        .sort((x, y) => y.cpu - x.cpu);
    },
  };
}
