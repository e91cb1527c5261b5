import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSeed, type RunningEmulator } from '@warden/graph-emulator';
import { GraphError, type GraphClient } from '../src';
import { clientFor, small } from './support';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await small({ settings: { deltaPageSize: 20, deltaLinksPerPage: 50 } });
});
afterAll(async () => emu.close());

const calm = { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 }, faultRate: 0, latencyMs: 0, jitterMs: 0 };

describe('governor against the emulator', () => {
  it('paces $batch items to a known budget instead of tripping it', async () => {
    emu.updateSettings({ throttle: { enabled: true, ruPer10s: 1000, writesPer150s: 3000 } });
    emu.resetStats();
    try {
      // 1,200 RU against a 1,000 RU bucket refilling 100 RU/s: an ungoverned client gets 429s
      // within the first second; the governor spends 950 and paces the rest at 95 RU/s.
      const c = clientFor(emu, 'readonly', { budget: { ruPer10s: 1000 } });
      const users = emu
        .exportTenant()
        .users.slice(0, 200)
        .map((u) => String(u.id));
      const reqs = Array.from({ length: 6 }, () => users)
        .flat()
        .map((id) => ({ method: 'GET' as const, url: `/users/${id}?$select=id` }));
      const t0 = Date.now();
      const res = await c.batch(reqs);
      const took = Date.now() - t0;
      expect(res.map((r) => (r.body as { id: string }).id)).toEqual(reqs.map((r) => r.url.split('/')[2]!.split('?')[0]));
      expect(emu.stats().throttled).toBe(0);
      expect(took).toBeGreaterThan(1500);
      expect(c.stats().byRoute['POST /$batch']!.ru).toBe(1200);
    } finally {
      emu.updateSettings(calm);
    }
  });

  it('gives up after maxRetryTimeMs with a typed error carrying the status', async () => {
    emu.updateSettings({ faultRate: 1 });
    try {
      // The emulator's faults say Retry-After: 1, so at most two retries fit in 2.5 s (one on a slow
      // machine), and a retry whose wait would overrun the bound is not attempted.
      const c = clientFor(emu, 'readonly', { maxRetryTimeMs: 2500 });
      const t0 = Date.now();
      const err = await c.get('/v1.0/users?$top=1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GraphError);
      expect([503, 504]).toContain((err as GraphError).status);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThan(1_000);
      expect(took).toBeLessThan(2_500 + 1_000);
      expect(c.stats().total.retries).toBeGreaterThanOrEqual(1);
      expect(c.stats().total.retries).toBeLessThanOrEqual(2);
    } finally {
      emu.updateSettings(calm);
    }
  });

  it('stops a request waiting out a throttle pause when its signal aborts', async () => {
    emu.updateSettings({ throttle: { enabled: true, ruPer10s: 2, writesPer150s: 3000 } });
    try {
      const c = clientFor(emu, 'provisioning', { budget: { ruPer10s: 8000 } });
      // The governor believes in 8,000 RU; the emulator allows 2, so the third read is throttled
      // with a Retry-After of seconds, which the request waits out unless aborted.
      await c.get('/v1.0/users?$top=1&$select=id');
      await c.get('/v1.0/users?$top=1&$select=id');
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('shutdown')), 300);
      const t0 = Date.now();
      await expect(c.get('/v1.0/users?$top=1&$select=id', { signal: ac.signal })).rejects.toThrow('shutdown');
      expect(Date.now() - t0).toBeLessThan(1_500);
      expect(c.stats().total.throttled).toBeGreaterThan(0);
    } finally {
      emu.updateSettings(calm);
    }
  });
});

describe('tokens', () => {
  it('caches short-lived tokens and survives one caller aborting the shared token request', async () => {
    emu.updateSettings({ tokenLifetimeSeconds: 60 });
    emu.resetStats();
    try {
      const c = clientFor(emu, 'readonly', { maxConcurrency: 4 });
      const ac = new AbortController();
      // The first caller starts the token request, the others wait on it, then the first one aborts
      // while the token request is in flight.
      const aborted = c.get('/v1.0/users?$top=1&$select=id', { signal: ac.signal });
      const others = Promise.all(Array.from({ length: 10 }, () => c.get<{ value: unknown[] }>('/v1.0/users?$top=1&$select=id')));
      await new Promise((r) => setTimeout(r, 1));
      ac.abort(new Error('caller went away'));
      await expect(aborted).rejects.toThrow('caller went away');
      for (const r of await others) expect(r.value).toHaveLength(1);
      expect(emu.stats().tokensIssued).toBe(1);
    } finally {
      emu.updateSettings({ tokenLifetimeSeconds: 3599 });
    }
  });
});

describe('storm with $batch', () => {
  it('every member list read once and complete under 429s, 10% 503/504 and jitter', async () => {
    emu.updateSettings({
      throttle: { enabled: true, ruPer10s: 250, writesPer150s: 3000 },
      faultRate: 0.1,
      faultSeed: testSeed('batch storm'),
      forceFaults: 2,
      latencyMs: 5,
      jitterMs: 20,
    });
    emu.resetStats();
    try {
      // The client believes in the default 8,000 RU, so the emulator's 250 throttles items inside
      // batches and the outer requests fail 10% of the time: both must be retried, nothing lost.
      const c = clientFor(emu, 'provisioning');
      const groups = emu.exportTenant().groups;
      const reqs = Array.from({ length: 5 }, () => groups)
        .flat()
        .map((g) => ({ method: 'GET' as const, url: `/groups/${String(g.id)}/members?$select=id&$top=999` }));
      const res = await c.batch(reqs);
      res.forEach((r, i) => {
        expect(r.status).toBe(200);
        const ids = (r.body as { value: Array<{ id: string }> }).value.map((m) => m.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.sort()).toEqual([...groups[i % groups.length]!.members].sort());
      });
      const s = emu.stats();
      expect(s.throttled).toBeGreaterThan(0);
      expect(s.faultsInjected).toBeGreaterThan(0);
    } finally {
      emu.updateSettings(calm);
    }
  });
});

async function applyRound(c: GraphClient, start: string, state: Map<string, Set<string>>): Promise<string> {
  const round = c.delta<{ id: string }>(start);
  for (;;) {
    const n = await round.next();
    if (n.done) {
      if (n.value.kind !== 'complete') throw new Error(`resync: ${n.value.reason}`);
      return n.value.deltaLink;
    }
    for (const ch of n.value.changes) {
      if (ch.kind === 'removed') {
        state.delete(ch.id);
        continue;
      }
      const members = state.get(ch.id) ?? new Set<string>();
      for (const m of ch.members ?? []) {
        if (m.removed) members.delete(m.id);
        else members.add(m.id);
      }
      state.set(ch.id, members);
    }
  }
}

describe('delta replays', () => {
  it('converges to the tenant although later rounds replay earlier changes', async () => {
    const c = clientFor(emu);
    const state = new Map<string, Set<string>>();
    let link = await applyRound(c, '/v1.0/groups/delta?$select=id,displayName,members', state);
    emu.updateSettings({ replayRate: 0.5 });
    try {
      for (let i = 0; i < 3; i++) {
        emu.mutate(25, 100 + i);
        link = await applyRound(c, link, state);
      }
    } finally {
      emu.updateSettings({ replayRate: 0 });
    }
    expect(state).toEqual(new Map(emu.exportTenant().groups.map((g) => [String(g.id), new Set(g.members)])));
  });
});

describe("a worker's long-lived signal", () => {
  it('holds no listener once its requests are answered, and still cancels one in flight', async () => {
    emu.updateSettings(calm);
    const c = clientFor(emu, 'readonly');
    const shutdown = new AbortController();
    const ids = emu
      .exportTenant()
      .users.slice(0, 40)
      .map((u) => String(u.id));
    // fetch gave up its listener on the signal it was handed only when the request was collected:
    // before the per-attempt signal this left one listener per request on the worker's signal.
    for (const id of ids) await c.get(`/v1.0/users/${id}?$select=id`, { signal: shutdown.signal });
    await Promise.all(ids.map((id) => c.get(`/v1.0/users/${id}?$select=id`, { signal: shutdown.signal })));
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);

    emu.updateSettings({ ...calm, latencyMs: 2_000 });
    try {
      const pending = c.get(`/v1.0/users/${ids[0]}?$select=id`, { signal: shutdown.signal });
      await new Promise((r) => setTimeout(r, 200));
      expect(getEventListeners(shutdown.signal, 'abort').length).toBeGreaterThan(0);
      const t0 = Date.now();
      shutdown.abort(new Error('worker stopping'));
      await expect(pending).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(1_500);
    } finally {
      emu.updateSettings(calm);
    }
  });
});
