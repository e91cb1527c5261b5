import { PageIterator } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '@warden/graph-emulator';
import { clientFor, small } from './support';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await small();
});
afterAll(async () => emu.close());

const calm = { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 }, faultRate: 0, latencyMs: 0, jitterMs: 0 };

describe("the SDK's fluent client on graph-core's chain", () => {
  it('authenticates, is counted like every other call, and pages with the SDK PageIterator', async () => {
    const c = clientFor(emu, 'readonly');
    const first = (await c.sdk.api('/users').select('id,displayName').top(7).get()) as {
      value: { id: string }[];
      '@odata.nextLink'?: string;
    };
    expect(first.value).toHaveLength(7);
    expect(c.stats().byRoute['GET /users']!.requests).toBe(1);
    const ids: string[] = [];
    const it = new PageIterator(c.sdk, first, (u: { id: string }) => {
      ids.push(u.id);
      return true;
    });
    await it.iterate();
    expect(new Set(ids).size).toBe(emu.exportTenant().users.length);
    expect(c.stats().byRoute['GET /users']!.requests).toBeGreaterThan(1);
  });

  it('is retried by our governor, not the SDK RetryHandler: a throttled tenant still answers every call', async () => {
    // Graph's budget far below what the client believes it has: the client trips it, and every 429
    // must be absorbed by the governor middleware (scope pause, Retry-After) — the SDK's own
    // RetryHandler, which would give up after three tries, is not in the chain.
    emu.updateSettings({ throttle: { enabled: true, ruPer10s: 20, writesPer150s: 3000 } });
    try {
      const c = clientFor(emu, 'readonly', { budget: { ruPer10s: 100_000 }, maxConcurrency: 8 });
      const users = emu
        .exportTenant()
        .users.slice(0, 26)
        .map((u) => String(u.id));
      const got = await Promise.all(users.map((id) => c.sdk.api(`/users/${id}`).select('id').get() as Promise<{ id: string }>));
      expect(got.map((u) => u.id)).toEqual(users);
      const s = c.stats().total;
      expect(s.throttled).toBeGreaterThan(0);
      expect(s.retries).toBeGreaterThanOrEqual(s.throttled);
      expect(emu.stats().throttled).toBe(s.throttled);
    } finally {
      emu.updateSettings(calm);
    }
  });
});
