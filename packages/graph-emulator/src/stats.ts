import type { EmulatorStats } from './types';

export class StatsRecorder {
  private s: EmulatorStats = StatsRecorder.empty();

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
  }
}
