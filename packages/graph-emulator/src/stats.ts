import type { EmulatorStats, WriteLogEntry } from './types';

/** Entries kept in the write log; the oldest go first beyond this. */
const WRITE_LOG_CAP = 100_000;

export class StatsRecorder {
  private s: EmulatorStats = StatsRecorder.empty();
  private writes: WriteLogEntry[] = [];

  private static empty(): EmulatorStats {
    return {
      since: new Date().toISOString(),
      requests: 0,
      byRoute: {},
      byStatus: {},
      ruSpent: 0,
      throttled: 0,
      writes: 0,
      tokensIssued: 0,
      tokenScopes: {},
      faultsInjected: 0,
    };
  }

  request(route: string, status: number): void {
    this.s.requests++;
    const r = (this.s.byRoute[route] ??= {});
    const key = String(status);
    r[key] = (r[key] ?? 0) + 1;
    this.s.byStatus[key] = (this.s.byStatus[key] ?? 0) + 1;
    if (status === 429) this.s.throttled++;
  }

  ru(n: number): void {
    this.s.ruSpent += n;
  }
  write(): void {
    this.s.writes++;
  }
  /** Every Graph write that reached a route (in $batch too), with its answer: the proof of what changed. */
  logWrite(e: WriteLogEntry): void {
    this.writes.push(e);
    if (this.writes.length > WRITE_LOG_CAP) this.writes.splice(0, this.writes.length - WRITE_LOG_CAP);
  }
  writeLog(): WriteLogEntry[] {
    return this.writes.map((w) => ({ ...w }));
  }
  dropped(): void {
    this.s.connectionsDropped = (this.s.connectionsDropped ?? 0) + 1;
  }
  token(): void {
    this.s.tokensIssued++;
  }
  /** The scope of an accepted client-credentials request (counted before the credentials are checked). */
  tokenScope(scope: string): void {
    this.s.tokenScopes[scope] = (this.s.tokenScopes[scope] ?? 0) + 1;
  }
  fault(): void {
    this.s.faultsInjected++;
  }

  snapshot(): EmulatorStats {
    const m = process.memoryUsage();
    return { ...structuredClone(this.s), memory: { rssMB: Math.round(m.rss / 1e6), heapUsedMB: Math.round(m.heapUsed / 1e6) } };
  }

  reset(): void {
    this.s = StatsRecorder.empty();
    this.writes = [];
  }
}
