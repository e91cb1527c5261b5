import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index';
import { getToken, graph, start, type Json } from './helpers';

type Item = { id: string; status: number; headers: Record<string, string>; body?: Json };

describe('$batch', () => {
  let emu: RunningEmulator;
  let token: string;
  beforeAll(async () => {
    emu = await start({ settings: { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } } });
    token = await getToken(emu);
  });
  afterAll(() => emu.close());
  const batch = (requests: unknown[]) => graph(emu, token, '/$batch', { method: 'POST', body: JSON.stringify({ requests }) });
  const get = (id: string, url = '/users?$top=1&$select=id', extra: Json = {}) => ({ id, method: 'GET', url, ...extra });

  it('rejects more than 20 requests and duplicate ids with 400', async () => {
    const over = await batch(Array.from({ length: 21 }, (_, i) => get(String(i))));
    expect(over.status).toBe(400);
    expect(over.body['error']).toMatchObject({ code: 'BadRequest' });
    const ok20 = await batch(Array.from({ length: 20 }, (_, i) => get(String(i))));
    expect(ok20.status).toBe(200);
    const dup = await batch([get('a'), get('A')]);
    expect(dup.status).toBe(400);
    const noType = await batch([{ id: '1', method: 'POST', url: '/groups/x/members/$ref', body: { '@odata.id': 'x' } }]);
    expect(noType.status).toBe(400);
  });

  it('answers dependents of a failed request with 424 and keeps the outer status 200', async () => {
    const r = await batch([
      get('1', '/users/00000000-0000-0000-0000-000000000000'),
      get('2', '/users?$top=1', { dependsOn: ['1'] }),
      get('3', '/groups?$top=1', { dependsOn: ['2'] }),
      get('4'),
    ]);
    expect(r.status).toBe(200);
    const byId = new Map((r.body['responses'] as Item[]).map((x) => [x.id, x]));
    expect(byId.get('1')?.status).toBe(404);
    expect(byId.get('2')?.status).toBe(424);
    expect(byId.get('3')?.status).toBe(424);
    expect(byId.get('4')?.status).toBe(200);
    expect(byId.get('4')?.headers['Content-Type']).toMatch(/^application\/json/);
  });

  it('throttles items individually, each with its own Retry-After', async () => {
    emu.updateSettings({ throttle: { enabled: true, ruPer10s: 5, writesPer150s: 3000 } });
    try {
      const r = await batch(Array.from({ length: 8 }, (_, i) => get(String(i), '/users')));
      expect(r.status).toBe(200);
      const items = r.body['responses'] as Item[];
      const throttled = items.filter((x) => x.status === 429);
      expect(items.filter((x) => x.status === 200)).toHaveLength(2);
      expect(throttled).toHaveLength(6);
      for (const t of throttled) {
        expect(Number(t.headers['Retry-After'])).toBeGreaterThan(0);
        expect((t.body?.['error'] as { code: string }).code).toBe('TooManyRequests');
      }
    } finally {
      emu.updateSettings({ throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } });
    }
  });

  it('returns responses in shuffled order', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => String(i));
    let shuffled = false;
    for (let i = 0; i < 3 && !shuffled; i++) {
      const r = await batch(ids.map((id) => get(id)));
      const order = (r.body['responses'] as Item[]).map((x) => x.id);
      expect([...order].sort()).toEqual([...ids].sort());
      shuffled = order.join() !== ids.join();
    }
    expect(shuffled).toBe(true);
  });

  it('runs writes inside a batch and returns per-item Graph errors', async () => {
    const ex = emu.exportTenant();
    const g = ex.groups.find((x) => x['isAssignableToRole'] !== true) as (typeof ex.groups)[number];
    const u = ex.users.find((x) => !g.members.includes(String(x['id']))) as Json;
    const body = { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${String(u['id'])}` };
    const r = await batch([
      { id: '1', method: 'POST', url: `/groups/${g.id}/members/$ref`, headers: { 'Content-Type': 'application/json' }, body },
      {
        id: '2',
        method: 'POST',
        url: `groups/${g.id}/members/$ref`,
        headers: { 'Content-Type': 'application/json' },
        body,
        dependsOn: ['1'],
      },
    ]);
    const byId = new Map((r.body['responses'] as Item[]).map((x) => [x.id, x]));
    expect(byId.get('1')?.status).toBe(204);
    expect(byId.get('1')?.body).toBeUndefined();
    expect(byId.get('2')?.status).toBe(400);
    expect((byId.get('2')?.body?.['error'] as { code: string }).code).toBe('Request_BadRequest');
  });
});
