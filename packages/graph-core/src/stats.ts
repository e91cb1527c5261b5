export interface RouteCounters {
  requests: number;
  ru: number;
  throttled: number;
  retries: number;
  errors: number;
  latencyMsTotal: number;
  latencyMsMax: number;
}

export interface GraphStats {
  total: RouteCounters;
  byRoute: Record<string, RouteCounters>;
}

const empty = (): RouteCounters => ({ requests: 0, ru: 0, throttled: 0, retries: 0, errors: 0, latencyMsTotal: 0, latencyMsMax: 0 });

/** Per-route counters a caller reads for sync statistics and services export as metrics. */
export class StatsRecorder {
  private readonly total = empty();
  private readonly byRoute = new Map<string, RouteCounters>();

  /** `forward`: also hand every update on (to the service's metrics). */
  constructor(private readonly forward?: (route: string, delta: Partial<RouteCounters> & { latencyMs?: number }) => void) {}

  record(route: string, delta: Partial<RouteCounters> & { latencyMs?: number }): void {
    this.forward?.(route, delta);
    let r = this.byRoute.get(route);
    if (!r) {
      r = empty();
      this.byRoute.set(route, r);
    }
    for (const c of [r, this.total]) {
      c.requests += delta.requests ?? 0;
      c.ru += delta.ru ?? 0;
      c.throttled += delta.throttled ?? 0;
      c.retries += delta.retries ?? 0;
      c.errors += delta.errors ?? 0;
      if (delta.latencyMs !== undefined) {
        c.latencyMsTotal += delta.latencyMs;
        c.latencyMsMax = Math.max(c.latencyMsMax, delta.latencyMs);
      }
    }
  }

  snapshot(): GraphStats {
    return {
      total: { ...this.total },
      byRoute: Object.fromEntries([...this.byRoute].map(([k, v]) => [k, { ...v }])),
    };
  }
}
