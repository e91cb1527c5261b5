import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSeed, type RunningEmulator } from '../src/index';
import { getToken, graph, start, type Json } from './helpers';

type Item = { id: string; status: number; headers: Record<string, string>; body?: Json };

/** Latency per method, and latency and faults per $batch item, as Graph answers them. */
describe('latency and faults per method and per $batch item', () => {
  let emu: RunningEmulator;
  let token: string;
  beforeAll(async () => {
    emu = await start({ settings: { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } } });
    token = await getToken(emu);
  });
  afterAll(() => emu.close());
  const batch = (requests: unknown[]) => graph(emu, token, '/$batch', { method: 'POST', body: JSON.stringify({ requests }) });
  const timed = async <T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> => {
    const t0 = performance.now();
    const value = await f();
    return { ms: performance.now() - t0, value };
  };
  const freeMembers = (n: number) => {
    const ex = emu.exportTenant();
    const g = ex.groups.find((x) => x['isAssignableToRole'] !== true && x.members.length > 0) as (typeof ex.groups)[number];
    const users = ex.users.filter((u) => !g.members.includes(String(u['id']))).slice(0, n);
    return { group: g.id, users: users.map((u) => String(u['id'])) };
  };
  const memberIds = (group: string) => emu.exportTenant().groups.find((x) => x.id === group)?.members ?? [];
  const refBody = (user: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user}` });

  it('makes writes slower than reads by default, configurable per method', async () => {
    expect(emu.settings().methodLatencyFactor).toEqual({ GET: 1, POST: 3, PATCH: 3, PUT: 3, DELETE: 3 });
    emu.updateSettings({ latencyMs: 60, jitterMs: 0 });
    try {
      const { group, users } = freeMembers(1);
      const read = await timed(() => graph(emu, token, '/users?$top=1&$select=id'));
      expect(read.value.status).toBe(200);
      expect(read.ms).toBeGreaterThanOrEqual(59);
      const write = await timed(() =>
        graph(emu, token, `/groups/${group}/members/$ref`, { method: 'POST', body: JSON.stringify(refBody(users[0]!)) }),
      );
      expect(write.value.status).toBe(204);
      expect(write.ms).toBeGreaterThanOrEqual(179);
      emu.updateSettings({ methodLatencyFactor: { GET: 5 } });
      expect(emu.settings().methodLatencyFactor).toEqual({ GET: 5, POST: 3, PATCH: 3, PUT: 3, DELETE: 3 });
      const slowRead = await timed(() => graph(emu, token, '/users?$top=1&$select=id'));
      expect(slowRead.ms).toBeGreaterThanOrEqual(299);
    } finally {
      emu.updateSettings({ latencyMs: 0, methodLatencyFactor: { GET: 1 } });
    }
  });

  it('runs independent $batch items in parallel and dependsOn chains one after another, each after its own latency', async () => {
    emu.updateSettings({ latencyMs: 150, jitterMs: 0 });
    try {
      const get = (id: string, dependsOn?: string[]) => ({
        id,
        method: 'GET',
        url: '/users?$top=1&$select=id',
        ...(dependsOn ? { dependsOn } : {}),
      });
      const parallel = await timed(() => batch(['1', '2', '3', '4'].map((id) => get(id))));
      const chain = await timed(() => batch([get('1'), get('2', ['1']), get('3', ['2']), get('4', ['3'])]));
      expect(parallel.value.status).toBe(200);
      expect(chain.value.status).toBe(200);
      expect((chain.value.body['responses'] as Item[]).every((r) => r.status === 200)).toBe(true);
      expect(parallel.ms).toBeGreaterThanOrEqual(149);
      expect(chain.ms).toBeGreaterThanOrEqual(599);
      expect(parallel.ms).toBeLessThan(chain.ms / 2);
    } finally {
      emu.updateSettings({ latencyMs: 0 });
    }
  });

  it('fails single $batch items with 503/504 and their own Retry-After inside a 200, without executing them', async () => {
    const { group, users } = freeMembers(3);
    emu.resetStats();
    emu.updateSettings({ forceBatchItemFaults: 2 });
    const r = await batch(
      users.map((u, i) => ({
        id: String(i + 1),
        method: 'POST',
        url: `/groups/${group}/members/$ref`,
        headers: { 'Content-Type': 'application/json' },
        body: refBody(u),
      })),
    );
    expect(r.status).toBe(200);
    const byId = new Map((r.body['responses'] as Item[]).map((x) => [x.id, x]));
    // Items run in request order when their latency is equal: the first two drew the forced faults.
    for (const id of ['1', '2']) {
      const item = byId.get(id)!;
      expect([503, 504]).toContain(item.status);
      expect(item.headers['Retry-After']).toBe('1');
      expect(['serviceNotAvailable', 'gatewayTimeout']).toContain((item.body?.['error'] as { code: string }).code);
    }
    expect(byId.get('3')?.status).toBe(204);
    const members = memberIds(group);
    expect(members).not.toContain(users[0]);
    expect(members).not.toContain(users[1]);
    expect(members).toContain(users[2]);
    expect(emu.stats().faultsInjected).toBe(2);
    expect(emu.writeLog().map((w) => w.status)).toEqual([204]);
  });

  it('draws item faults at batchItemFaultRate from a settable seed', async () => {
    const seed = testSeed('batch item faults');
    const ids = Array.from({ length: 20 }, (_, i) => String(i));
    const failedIds = async (): Promise<string[]> => {
      emu.updateSettings({ faultSeed: seed, batchItemFaultRate: 0.4 });
      const r = await batch(ids.map((id) => ({ id, method: 'GET', url: '/users?$top=1&$select=id' })));
      expect(r.status).toBe(200);
      const items = r.body['responses'] as Item[];
      expect(items.every((x) => [200, 503, 504].includes(x.status))).toBe(true);
      return items
        .filter((x) => x.status !== 200)
        .map((x) => x.id)
        .sort();
    };
    try {
      const first = await failedIds();
      // 20 draws at 0.4: all-or-nothing has a chance of ~4e-5 for one run; the replay is exact.
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThan(20);
      expect(await failedIds()).toEqual(first);
    } finally {
      emu.updateSettings({ batchItemFaultRate: 0 });
    }
  });
});
