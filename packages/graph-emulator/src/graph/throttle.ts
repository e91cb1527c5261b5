import type { GraphRequest } from '../http/types';
import type { ThrottleSettings } from '../types';
import { TENANT_WRITES_PER_300S } from '../settings';
import { opt } from './query';

/** Continuously refilling token bucket. */
class Bucket {
  private tokens: number;
  private last = Date.now();

  constructor(private capacity: number) {
    this.tokens = capacity;
  }

  private refill(capacity: number, perSecond: number): void {
    const now = Date.now();
    if (capacity !== this.capacity) {
      this.tokens = Math.min(this.tokens, capacity);
      this.capacity = capacity;
    }
    this.tokens = Math.min(capacity, this.tokens + ((now - this.last) / 1000) * perSecond);
    this.last = now;
  }

  /** Seconds until `cost` would be available (0 = available now). */
  wait(cost: number, capacity: number, perSecond: number): number {
    this.refill(capacity, perSecond);
    return this.tokens >= cost ? 0 : (cost - this.tokens) / perSecond;
  }

  take(cost: number): void {
    this.tokens -= cost;
  }

  /** Share of the capacity in use, 0..1. */
  usage(): number {
    return 1 - this.tokens / this.capacity;
  }
}

export type ThrottleDecision =
  | { ok: true; ru: number; usage: number }
  | { ok: false; ru: number; retryAfter: number; information: 'ResourceUnitLimitExceeded' | 'WriteLimitExceeded'; scope: string };

/** Resource-unit cost of a request: Graph's base cost table plus the documented modifiers. */
export function resourceUnits(req: GraphRequest, baseCost: number): number {
  let cost = baseCost;
  if (opt(req, 'select')) cost -= 1;
  if (opt(req, 'expand')) cost += 1;
  const top = Number(opt(req, 'top'));
  if (Number.isFinite(top) && top > 0 && top < 20) cost -= 1;
  return Math.max(1, cost);
}

/**
 * Graph's identity limits: per app+tenant an RU bucket (per 10 s) and a write bucket (per 150 s), and
 * per tenant a write bucket (per 5 min) shared by every app, so one app's writes can throttle another's.
 */
export class Throttler {
  private readonly buckets = new Map<string, { ru: Bucket; writes: Bucket }>();
  private tenantWrites: Bucket | undefined;

  constructor(private readonly tenantId: string) {}

  check(appId: string, ru: number, isWrite: boolean, s: ThrottleSettings): ThrottleDecision {
    let b = this.buckets.get(appId);
    if (!b) {
      b = { ru: new Bucket(s.ruPer10s), writes: new Bucket(s.writesPer150s) };
      this.buckets.set(appId, b);
    }
    const tenantQuota = s.tenantWritesPer300s ?? TENANT_WRITES_PER_300S;
    const tenant = (this.tenantWrites ??= new Bucket(tenantQuota));
    if (!s.enabled) return { ok: true, ru, usage: 0 };
    const ruWait = b.ru.wait(ru, s.ruPer10s, s.ruPer10s / 10);
    const wWait = isWrite ? b.writes.wait(1, s.writesPer150s, s.writesPer150s / 150) : 0;
    const tWait = isWrite ? tenant.wait(1, tenantQuota, tenantQuota / 300) : 0;
    const longest = Math.max(ruWait, wWait, tWait);
    if (longest > 0) {
      const tenantWide = tWait >= longest && tWait > Math.max(ruWait, wWait);
      return {
        ok: false,
        ru,
        retryAfter: Math.max(0.001, Math.ceil(longest * 1000) / 1000),
        information: wWait >= ruWait || tenantWide ? 'WriteLimitExceeded' : 'ResourceUnitLimitExceeded',
        scope: `${tenantWide ? 'Tenant' : 'Tenant_Application'}/${isWrite ? 'Write' : 'Read'}/${appId}/${this.tenantId}`,
      };
    }
    b.ru.take(ru);
    if (isWrite) {
      b.writes.take(1);
      tenant.take(1);
    }
    return { ok: true, ru, usage: Math.max(b.ru.usage(), isWrite ? Math.max(b.writes.usage(), tenant.usage()) : 0) };
  }

  reset(): void {
    this.buckets.clear();
    this.tenantWrites = undefined;
  }
}
