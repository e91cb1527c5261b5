import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index';
import { getToken, graph, start } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('throttling', () => {
  let emu: RunningEmulator;
  let prov: string;
  let ro: string;
  beforeAll(async () => {
    emu = await start({ counts: { users: 60 } });
    [prov, ro] = await Promise.all([getToken(emu, 'provisioning'), getToken(emu, 'readonly')]);
  });
  afterAll(() => emu.close());
  const set = (t: { enabled?: boolean; ruPer10s?: number; writesPer150s?: number; tenantWritesPer300s?: number }) =>
    emu.updateSettings({ throttle: { ...emu.settings().throttle, ...t } });

  it('sizes the default RU budget by tenant user count', async () => {
    expect(emu.settings().throttle).toEqual({ enabled: true, ruPer10s: 5000, writesPer150s: 3000, tenantWritesPer300s: 18_000 });
    const tiny = await start({ counts: { users: 20 } });
    const big = await start({ counts: { users: 600, groups: 5, memberships: 10, appRoleAssignments: 10 } });
    try {
      expect(tiny.settings().throttle.ruPer10s).toBe(3500);
      expect(big.settings().throttle.ruPer10s).toBe(8000);
    } finally {
      await Promise.all([tiny.close(), big.close()]);
    }
  });

  it("charges resource units per Graph's cost table and modifiers", async () => {
    set({ enabled: true, ruPer10s: 5000 });
    const g = emu.exportTenant().groups[0]?.id as string;
    const cases: [string, string][] = [
      ['/users', '2'],
      ['/users?$select=id', '1'],
      ['/users?$top=5', '1'],
      ['/users?$top=50', '2'],
      ['/groups', '1'],
      [`/groups/${g}/members`, '3'],
      [`/groups/${g}/members?$select=id`, '2'],
      [`/groups/${g}/members?$select=id&$top=5`, '1'],
    ];
    for (const [path, ru] of cases) {
      const r = await graph(emu, prov, path);
      expect([path, r.headers.get('x-ms-resource-unit')]).toEqual([path, ru]);
    }
  });

  it("429s with Graph's body and headers once the RU bucket is empty, per app", async () => {
    set({ enabled: true, ruPer10s: 9 });
    await sleep(10);
    const ok = [];
    for (let i = 0; i < 4; i++) ok.push(await graph(emu, prov, '/users'));
    expect(ok.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(ok[0]?.headers.get('x-ms-throttle-limit-percentage')).toBeNull();
    expect(Number(ok[3]?.headers.get('x-ms-throttle-limit-percentage'))).toBeGreaterThanOrEqual(0.8);
    const r3 = await graph(emu, prov, '/users?$top=999');
    const r4 = await graph(emu, prov, '/users');
    const throttled = [r3, r4].find((r) => r.status === 429);
    expect(throttled).toBeDefined();
    const t = throttled as Awaited<ReturnType<typeof graph>>;
    const retryAfter = t.headers.get('retry-after') as string;
    expect(retryAfter).toMatch(/^\d+(\.\d+)?$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(t.headers.get('x-ms-throttle-scope')).toBe(`Tenant_Application/Read/${emu.app('provisioning').clientId}/${emu.config.tenantId}`);
    expect(t.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    expect(t.body).toEqual({
      error: {
        code: 'TooManyRequests',
        message: 'Please retry again later.',
        innerError: {
          code: '429',
          message: 'Please retry after',
          status: '429',
          date: expect.any(String),
          'request-id': t.headers.get('request-id'),
          'client-request-id': t.headers.get('client-request-id'),
        },
      },
    });
    // Another app has its own bucket.
    expect((await graph(emu, ro, '/users')).status).toBe(200);
    await sleep(Number(retryAfter) * 1000 + 50);
    expect((await graph(emu, prov, '/users')).status).toBe(200);
    expect(emu.stats().throttled).toBeGreaterThan(0);
  });

  it('enforces the write quota separately from reads', async () => {
    set({ enabled: true, ruPer10s: 5000, writesPer150s: 2 });
    await sleep(10);
    const ex = emu.exportTenant();
    const g = ex.groups.find((x) => x['isAssignableToRole'] !== true) as (typeof ex.groups)[number];
    const free = ex.users.filter((u) => !g.members.includes(String(u['id']))).slice(0, 3);
    const results = [];
    for (const u of free) {
      results.push(
        await graph(emu, prov, `/groups/${g.id}/members/$ref`, {
          method: 'POST',
          body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${String(u['id'])}` }),
        }),
      );
    }
    expect(results.map((r) => r.status)).toEqual([204, 204, 429]);
    const w = results[2] as (typeof results)[number];
    expect(w.headers.get('x-ms-throttle-information')).toBe('WriteLimitExceeded');
    expect(w.headers.get('x-ms-throttle-scope')).toMatch(/^Tenant_Application\/Write\//);
    expect(Number(w.headers.get('retry-after'))).toBeGreaterThan(1);
    expect((await graph(emu, prov, '/users?$top=1')).status).toBe(200);
    set({ writesPer150s: 3000 });
  });

  it('enforces the tenant-wide write quota across apps', async () => {
    // Every app has its own 3,000 / 150 s, but the tenant's 2 writes per 5 min are shared: the read-only
    // app's two writes spend them and the provisioning app is throttled with the tenant scope.
    set({ enabled: true, ruPer10s: 5000, writesPer150s: 3000, tenantWritesPer300s: 2 });
    const ex = emu.exportTenant();
    const g = ex.groups.find((x) => x['isAssignableToRole'] !== true && x['id'] !== undefined) as (typeof ex.groups)[number];
    const free = ex.users.filter((u) => !g.members.includes(String(u['id']))).slice(3, 6);
    const add = (token: string, u: (typeof free)[number]) =>
      graph(emu, token, `/groups/${g.id}/members/$ref`, {
        method: 'POST',
        body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${String(u['id'])}` }),
      });
    try {
      const first = await add(ro, free[0]!);
      const second = await add(ro, free[1]!);
      const third = await add(prov, free[2]!);
      expect([first.status, second.status, third.status]).toEqual([204, 204, 429]);
      expect(third.headers.get('x-ms-throttle-information')).toBe('WriteLimitExceeded');
      expect(third.headers.get('x-ms-throttle-scope')).toMatch(/^Tenant\/Write\/[^/]+\/[^/]+$/);
      // 2 writes per 300 s refill one write every 150 s.
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(100);
      // Reads are not part of the write quota.
      expect((await graph(emu, prov, '/users?$top=1')).status).toBe(200);
      expect(emu.exportTenant().groups.find((x) => x.id === g.id)?.members).not.toContain(String(free[2]!['id']));
    } finally {
      set({ tenantWritesPer300s: 18_000 });
    }
  });

  it('never throttles when switched off', async () => {
    set({ enabled: false, ruPer10s: 1 });
    const rs = await Promise.all(Array.from({ length: 10 }, () => graph(emu, prov, '/users')));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    set({ enabled: true, ruPer10s: 5000 });
  });
});
