import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSeed, type RunningEmulator } from '@warden/graph-emulator';
import type { DeltaOutcome, GraphClient } from '../src';
import { clientFor, small } from './support';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await small({ settings: { deltaPageSize: 20, deltaLinksPerPage: 50 } });
});
afterAll(async () => emu.close());

/** Applies a delta round to a map of group id → member set; returns the outcome. */
async function applyGroupsRound(
  c: GraphClient,
  start: string,
  state: Map<string, Set<string>>,
): Promise<{ outcome: DeltaOutcome; pagesWithRepeats: number }> {
  const round = c.delta<{ id: string; displayName?: string }>(start);
  const seenOnPage = new Set<string>();
  let pagesWithRepeats = 0;
  for (;;) {
    const n = await round.next();
    if (n.done) return { outcome: n.value, pagesWithRepeats };
    let repeat = false;
    for (const ch of n.value.changes) {
      if (ch.kind === 'removed') {
        state.delete(ch.id);
        continue;
      }
      if (seenOnPage.has(ch.id)) repeat = true;
      seenOnPage.add(ch.id);
      const members = state.get(ch.id) ?? new Set<string>();
      for (const m of ch.members ?? []) {
        if (m.removed) members.delete(m.id);
        else members.add(m.id);
      }
      state.set(ch.id, members);
    }
    if (repeat) pagesWithRepeats++;
  }
}

function truthMembers(): Map<string, Set<string>> {
  return new Map(emu.exportTenant().groups.map((g) => [String(g.id), new Set(g.members)]));
}

describe('delta rounds', () => {
  it('full round, then changes, then forced and expired resync', async () => {
    const c = clientFor(emu);
    const state = new Map<string, Set<string>>();
    const first = await applyGroupsRound(c, '/v1.0/groups/delta?$select=id,displayName,members,owners', state);
    expect(first.outcome.kind).toBe('complete');
    expect(first.pagesWithRepeats).toBeGreaterThan(0); // big groups were split over pages
    expect(state).toEqual(truthMembers());

    emu.mutate(40, 3);
    const link = (first.outcome as { deltaLink: string }).deltaLink;
    const second = await applyGroupsRound(c, link, state);
    expect(second.outcome.kind).toBe('complete');
    expect(state).toEqual(truthMembers());

    emu.updateSettings({ forceResync: true });
    const forced = await applyGroupsRound(c, (second.outcome as { deltaLink: string }).deltaLink, new Map());
    expect(forced.outcome.kind).toBe('resync');

    const fresh = new Map<string, Set<string>>();
    const again = await applyGroupsRound(c, '/v1.0/groups/delta?$select=id,displayName,members,owners', fresh);
    expect(again.outcome.kind).toBe('complete');
    emu.updateSettings({ deltaTokenTtlSeconds: 0.01 });
    await new Promise((r) => setTimeout(r, 30));
    const expired = await applyGroupsRound(c, (again.outcome as { deltaLink: string }).deltaLink, fresh);
    expect(expired.outcome).toMatchObject({ kind: 'resync' });
    expect((expired.outcome as { reason: string }).reason).toMatch(/syncStateNotFound/);
    emu.updateSettings({ deltaTokenTtlSeconds: 7 * 86400 });
  });

  it('reports removed users with their reason', async () => {
    const c = clientFor(emu);
    const r = c.delta<{ id: string }>('/v1.0/users/delta?$select=id,displayName');
    let n = await r.next();
    while (!n.done) n = await r.next();
    expect(n.value.kind).toBe('complete');
    const changes = emu.mutate(30, 9);
    const leavers = changes.filter((ch) => ch.kind === 'userDeleted').map((ch) => ch.objectId);
    const removed: string[] = [];
    const r2 = c.delta<{ id: string }>((n.value as { deltaLink: string }).deltaLink);
    let m = await r2.next();
    while (!m.done) {
      for (const ch of m.value.changes) if (ch.kind === 'removed') removed.push(ch.id);
      m = await r2.next();
    }
    const alive = new Set(emu.exportTenant().users.map((u) => String(u.id)));
    for (const id of removed) expect(alive.has(id)).toBe(false);
    expect(leavers.length).toBeGreaterThan(0);
    expect(removed).toEqual(expect.arrayContaining(leavers));
  });
});

describe('users delta with manager', () => {
  it('carries manager@delta as `manager` link changes (new manager, previous one removed)', async () => {
    const c = clientFor(emu);
    const state = new Map<string, string | null>();
    const apply = async (start: string): Promise<string> => {
      const r = c.delta<{ id: string }>(start);
      for (;;) {
        const n = await r.next();
        if (n.done) {
          expect(n.value.kind).toBe('complete');
          return (n.value as { deltaLink: string }).deltaLink;
        }
        for (const ch of n.value.changes) {
          if (ch.kind === 'removed') state.delete(ch.id);
          else if (ch.manager) state.set(ch.id, ch.manager.find((m) => !m.removed)?.id ?? null);
          else if (!state.has(ch.id)) state.set(ch.id, null);
        }
      }
    };
    const truth = () => new Map(emu.exportTenant().users.map((u) => [String(u.id), (u['managerId'] as string | null) ?? null]));
    const link = await apply('/v1.0/users/delta?$select=id,displayName,manager');
    expect(state).toEqual(truth());
    emu.mutate(60, 21);
    await apply(link);
    expect(state).toEqual(truth());
  });
});

describe('$batch', () => {
  it('returns results in request order across packs, with dependsOn and per-item errors', async () => {
    const c = clientFor(emu);
    const groups = emu.exportTenant().groups.slice(0, 45);
    const reqs = groups.map((g) => ({ method: 'GET' as const, url: `/groups/${String(g.id)}/owners?$select=id` }));
    reqs.splice(3, 0, { method: 'GET' as const, url: '/groups/00000000-0000-0000-0000-00000000beef/owners' });
    const res = await c.batch(reqs);
    expect(res).toHaveLength(reqs.length);
    expect(res[3]!.status).toBe(404);
    const ok = res.filter((_, i) => i !== 3);
    ok.forEach((r, i) => {
      expect(r.status).toBe(200);
      const ids = (r.body as { value: Array<{ id: string }> }).value.map((o) => o.id).sort();
      expect(ids).toEqual([...groups[i]!.owners].sort());
    });
    const dep = await c.batch([
      { id: 'a', method: 'GET', url: '/users/00000000-0000-0000-0000-00000000beef' },
      { id: 'b', method: 'GET', url: '/users?$top=1', dependsOn: ['a'] },
    ]);
    expect(dep.map((d) => d.status)).toEqual([404, 424]);
  });

  it('honours dependsOn across packs: the dependant waits for its pack, or gets 424 when the dependency failed', async () => {
    const c = clientFor(emu);
    const gid = String(emu.exportTenant().groups[0]!.id);
    const name = `renamed-${Date.now()}`;
    const filler = Array.from({ length: 18 }, (_, i) => ({ id: `f${i}`, method: 'GET' as const, url: '/users?$top=1&$select=id' }));
    // Pack 1 = missing + 18 fillers + patch; pack 2 holds the dependants, which Graph alone could not order.
    const reqs = [
      { id: 'missing', method: 'GET' as const, url: '/users/00000000-0000-0000-0000-00000000beef' },
      ...filler,
      { id: 'patch', method: 'PATCH' as const, url: `/groups/${gid}`, body: { displayName: name } },
      { id: 'read', method: 'GET' as const, url: `/groups/${gid}?$select=displayName`, dependsOn: ['Patch'] },
      { id: 'orphan', method: 'GET' as const, url: '/users?$top=1', dependsOn: ['missing'] },
      { id: 'chained', method: 'GET' as const, url: '/users?$top=1', dependsOn: ['orphan'] },
      { id: 'free', method: 'GET' as const, url: '/users?$top=1' },
    ];
    emu.updateSettings({ latencyMs: 20, jitterMs: 80 });
    try {
      const res = await c.batch(reqs);
      const by = Object.fromEntries(res.map((r) => [r.id, r]));
      expect(res.map((r) => r.id)).toEqual(reqs.map((r) => r.id));
      expect(by['missing']!.status).toBe(404);
      expect(by['patch']!.status).toBe(204);
      expect(by['read']!.status).toBe(200);
      expect((by['read']!.body as { displayName: string }).displayName).toBe(name);
      expect([by['orphan']!.status, by['chained']!.status, by['free']!.status]).toEqual([424, 424, 200]);
      expect((by['orphan']!.body as { error: { code: string } }).error.code).toBe('FailedDependency');
    } finally {
      emu.updateSettings({ latencyMs: 0, jitterMs: 0 });
    }
  });

  it('retries items throttled inside a batch until all succeed', async () => {
    const c = clientFor(emu, 'readonly');
    emu.updateSettings({ throttle: { enabled: true, ruPer10s: 60, writesPer150s: 3000 } });
    try {
      const users = emu.exportTenant().users.slice(0, 60);
      const res = await c.batch(users.map((u) => ({ method: 'GET' as const, url: `/users/${String(u.id)}?$select=id` })));
      expect(res.map((r) => r.status)).toEqual(users.map(() => 200));
      expect(res.map((r) => (r.body as { id: string }).id)).toEqual(users.map((u) => String(u.id)));
    } finally {
      emu.updateSettings({ throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } });
    }
  });
});

describe('$batch items failing inside a 200', () => {
  it('re-sends items Graph answered 503/504 inside a 200 batch, every write applied exactly once', async () => {
    const c = clientFor(emu, 'provisioning');
    // Two item faults are forced so the retry path always runs; the rest are drawn from the seed.
    emu.updateSettings({ faultSeed: testSeed('batch item faults'), batchItemFaultRate: 0.2, forceBatchItemFaults: 2 });
    emu.resetStats();
    try {
      const ex = emu.exportTenant();
      const g = ex.groups.find((x) => x['isAssignableToRole'] !== true && x.members.length > 0)!;
      const free = ex.users.filter((u) => !g.members.includes(String(u.id))).slice(0, 45);
      const res = await c.batch(
        free.map((u) => ({
          method: 'POST' as const,
          url: `/groups/${g.id}/members/$ref`,
          body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${String(u.id)}` },
        })),
      );
      expect(res.map((r) => r.status)).toEqual(free.map(() => 204));
      const members = new Set(emu.exportTenant().groups.find((x) => x.id === g.id)!.members);
      expect(free.every((u) => members.has(String(u.id)))).toBe(true);
      // A failed item was never executed, so its re-send is the only write: no duplicate-member 400s.
      const log = emu.writeLog();
      expect(log).toHaveLength(free.length);
      expect(log.every((w) => w.status === 204 && w.inBatch)).toBe(true);
      expect(emu.stats().faultsInjected).toBeGreaterThanOrEqual(2);
      expect(c.stats().byRoute['POST /$batch']!.retries).toBeGreaterThan(0);
    } finally {
      emu.updateSettings({ batchItemFaultRate: 0, forceBatchItemFaults: 0 });
    }
  });
});

describe('storm', () => {
  it('reads every item exactly once under a tiny budget, 10% 503/504 and jitter', async () => {
    // Two faults are forced so the retries asserted below do not hang on the draw; the rest are seeded.
    emu.updateSettings({
      throttle: { enabled: true, ruPer10s: 150, writesPer150s: 3000 },
      faultRate: 0.1,
      faultSeed: testSeed('storm'),
      forceFaults: 2,
      latencyMs: 5,
      jitterMs: 20,
    });
    emu.resetStats();
    try {
      const c2 = clientFor(emu, 'provisioning', { budget: { ruPer10s: 5000 } });
      const ids: string[] = [];
      for await (const p of c2.pages<{ id: string }>('/v1.0/users?$select=id&$top=10')) ids.push(...p.items.map((i) => i.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(emu.exportTenant().users.length);
      const s = c2.stats();
      expect(s.total.retries).toBeGreaterThan(0);
      const faults = emu.stats().faultsInjected;
      expect(faults).toBeGreaterThanOrEqual(2);
      expect(s.total.retries).toBeGreaterThanOrEqual(faults);
    } finally {
      emu.updateSettings({ throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 }, faultRate: 0, latencyMs: 0, jitterMs: 0 });
    }
  });
});
