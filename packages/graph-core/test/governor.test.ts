import { describe, expect, it } from 'vitest';
import { estimateCost, GraphClient, parseRetryAfter, routeOf, ThrottleGovernor } from '../src';

const gov = (ruPer10s: number, maxConcurrency = 16) => new ThrottleGovernor({ ruPer10s, writesPer150s: 3000, maxConcurrency });
const elapsed = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

describe('cost estimate (graph-api.md §3)', () => {
  const cost = (method: string, path: string) => estimateCost(method, new URL(`https://graph.example${path}`));
  it('uses the base table and the modifiers', () => {
    expect(cost('GET', '/v1.0/users')).toBe(2);
    expect(cost('GET', '/v1.0/users?$select=id')).toBe(1);
    expect(cost('GET', '/v1.0/groups/6f1c1d3e-0000-4000-8000-000000000001/members')).toBe(3);
    expect(cost('GET', '/v1.0/groups/6f1c1d3e-0000-4000-8000-000000000001/members?$select=id&$top=999')).toBe(2);
    expect(cost('GET', '/v1.0/groups/6f1c1d3e-0000-4000-8000-000000000001/transitiveMembers?$expand=x')).toBe(6);
    expect(cost('GET', '/v1.0/groups?$top=5')).toBe(1);
    expect(cost('POST', '/v1.0/directoryObjects/getByIds')).toBe(3);
    expect(cost('GET', '/v1.0/users/abc/memberOf')).toBe(2);
    expect(cost('GET', '/v1.0/subscribedSkus')).toBe(3);
  });

  it('names routes with ids replaced', () => {
    expect(routeOf('GET', new URL('https://g/v1.0/groups/6f1c1d3e-0000-4000-8000-000000000001/members?$top=1'))).toBe(
      'GET /groups/{id}/members',
    );
  });
});

describe('Retry-After', () => {
  it('accepts fractional seconds and HTTP dates', () => {
    expect(parseRetryAfter('2.128')).toBe(2128);
    const d = parseRetryAfter(new Date(Date.now() + 3000).toUTCString());
    expect(d).toBeGreaterThan(1000);
    expect(d).toBeLessThanOrEqual(3000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});

describe('ThrottleGovernor', () => {
  it('spends a bucket of 95% of the budget, then paces at the refill rate', async () => {
    const g = gov(200); // bucket 190 RU, refill 19 RU/s
    expect(await elapsed(async () => g.release(await g.acquire(190, false)))).toBeLessThan(50);
    const waited = await elapsed(async () => g.release(await g.acquire(19, false)));
    expect(waited).toBeGreaterThan(850);
    expect(waited).toBeLessThan(2500); // timers fire late on a loaded machine
  });

  it('pauses every caller of the scope on a 429 and halves concurrency', async () => {
    const g = gov(100_000, 8);
    g.throttled(300, false);
    expect(g.concurrencyLimit).toBe(4);
    const waits = await Promise.all([1, 2, 3].map(() => elapsed(async () => g.release(await g.acquire(1, false)))));
    for (const w of waits) expect(w).toBeGreaterThan(250);
    g.throttled(10, false);
    expect(g.concurrencyLimit).toBe(2);
    for (let i = 0; i < 20; i++) g.succeeded();
    expect(g.concurrencyLimit).toBeGreaterThan(2);
    expect(g.concurrencyLimit).toBeLessThanOrEqual(8);
  });

  it('cuts concurrency once for 429s of requests that were in flight together', async () => {
    const g = gov(100_000, 16);
    const permits = await Promise.all(Array.from({ length: 16 }, () => g.acquire(1, false)));
    for (const p of permits) {
      g.release(p);
      g.throttled(5, false, p);
    }
    expect(g.concurrencyLimit).toBe(8);
    await new Promise((r) => setTimeout(r, 10));
    const later = await g.acquire(1, false);
    g.release(later);
    g.throttled(5, false, later);
    expect(g.concurrencyLimit).toBe(4);
  });

  it('bounds requests in flight and hands a freed slot to the next waiter', async () => {
    const g = gov(100_000, 2);
    const a = await g.acquire(1, false);
    await g.acquire(1, false);
    let third = false;
    const p = g.acquire(1, false).then((permit) => {
      third = true;
      return permit;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(third).toBe(false);
    g.release(a);
    await p;
    expect(third).toBe(true);
  });

  it('stops waiting on abort and does not lose the slot of an aborted waiter', async () => {
    const g = gov(100_000, 1);
    const held = await g.acquire(1, false);
    const ac = new AbortController();
    const aborted = g.acquire(1, false, ac.signal);
    const next = g.acquire(1, false);
    ac.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    g.release(held);
    await expect(next).resolves.toMatchObject({ cost: 1 });

    const paused = gov(100_000);
    paused.throttled(10_000, false);
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(new Error('cancelled')), 20);
    expect(await elapsed(() => paused.acquire(1, false, ac2.signal).catch(() => undefined))).toBeLessThan(500);
  });

  it('lets the next page of a chain ahead of fan-out work waiting for a slot', async () => {
    const g = gov(100_000, 1);
    const held = await g.acquire(1, false);
    const order: string[] = [];
    const fanOut = Array.from({ length: 5 }, (_, i) => g.acquire(40, false).then((p) => (order.push(`batch${i}`), g.release(p))));
    await new Promise((r) => setTimeout(r, 10));
    const page = g.acquire(1, false, undefined, true).then((p) => (order.push('page'), g.release(p)));
    g.release(held);
    await Promise.all([...fanOut, page]);
    expect(order[0]).toBe('page');
    expect(order.slice(1)).toEqual(['batch0', 'batch1', 'batch2', 'batch3', 'batch4']);
  });

  it('takes budget before a slot and gives it back when the waiter is aborted', async () => {
    const g = gov(200, 1); // bucket 190 RU
    const held = await g.acquire(1, false);
    const ac = new AbortController();
    const waiting = g.acquire(150, false, ac.signal);
    await new Promise((r) => setTimeout(r, 10));
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    g.release(held);
    // 189 − 150 + 150: the refund makes a request of 180 RU pass at once.
    expect(await elapsed(async () => g.release(await g.acquire(180, false)))).toBeLessThan(50);
  });

  it('keeps a separate write budget', async () => {
    const g = new ThrottleGovernor({ ruPer10s: 100_000, writesPer150s: 3, maxConcurrency: 4 }); // 2.85 writes, refill 0.019/s
    g.release(await g.acquire(1, true));
    g.release(await g.acquire(1, true));
    expect(await elapsed(async () => g.release(await g.acquire(1, false)))).toBeLessThan(50);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('write budget exhausted')), 150);
    await expect(g.acquire(1, true, ac.signal)).rejects.toThrow('write budget exhausted');
  });
});

describe('write quota of a $batch', () => {
  it('charges every write item, not one per batch', async () => {
    const g = new ThrottleGovernor({ ruPer10s: 100_000, writesPer150s: 30, maxConcurrency: 4 }); // 28.5 writes
    expect(await elapsed(async () => g.release(await g.acquire(20, 20)))).toBeLessThan(50);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('write budget exhausted')), 150);
    // 8.5 writes left: a second pack of 20 writes waits, though a single write would pass.
    await expect(g.acquire(20, 20, ac.signal)).rejects.toThrow('write budget exhausted');
    expect(await elapsed(async () => g.release(await g.acquire(1, true)))).toBeLessThan(50);
  });
});

describe('GraphClient options', () => {
  it('rejects bad connector settings at construction', () => {
    const ok = { tenantId: 't', clientId: 'c', auth: { kind: 'secret' as const, clientSecret: 's' } };
    expect(() => new GraphClient(ok)).not.toThrow();
    expect(() => new GraphClient({ ...ok, graphBaseUrl: 'http://graph.example' })).toThrow();
    expect(() => new GraphClient({ ...ok, auth: { kind: 'secret', clientSecret: '' } })).toThrow();
    expect(() => new GraphClient({ ...ok, auth: { kind: 'certificate', certificatePem: 'x', privateKeyPem: 'y' } })).toThrow();
  });
});
