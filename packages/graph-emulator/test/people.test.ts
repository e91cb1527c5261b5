import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index';
import { getToken, graph, start } from './helpers';

type U = { id: string; managerId: string | null; signInActivity?: Record<string, string | null> | null; userType: string };

describe('managers and sign-in activity', () => {
  let emu: RunningEmulator;
  let token: string;
  beforeAll(async () => {
    emu = await start({ size: 'S', seed: 5 });
    token = await getToken(emu);
  });
  afterAll(() => emu.close());

  const users = (): U[] => emu.exportTenant().users as unknown as U[];

  it('generates a reporting structure a few levels deep, deterministic from the seed', async () => {
    const us = users();
    const byId = new Map(us.map((u) => [u.id, u]));
    const depth = (u: U): number => (u.managerId ? 1 + depth(byId.get(u.managerId) as U) : 0);
    const depths = us.map(depth);
    expect(Math.max(...depths)).toBeGreaterThanOrEqual(3);
    expect(us.filter((u) => u.managerId === null).length).toBeGreaterThan(us.filter((u) => u.userType === 'Guest').length);
    for (const u of us) if (u.managerId) expect(byId.get(u.managerId)?.userType).toBe('Member');
    const again = await start({ size: 'S', seed: 5 });
    try {
      expect((again.exportTenant().users as unknown as U[]).map((u) => u.managerId)).toEqual(us.map((u) => u.managerId));
    } finally {
      await again.close();
    }
  });

  it('spreads sign-in activity: recent, stale (> 90 days) and never (null)', () => {
    const now = Date.now();
    const ages = users().map((u) => {
      const t = u.signInActivity?.['lastSuccessfulSignInDateTime'];
      return t ? (now - Date.parse(t)) / 86_400_000 : null;
    });
    expect(ages.filter((a) => a === null).length).toBeGreaterThan(0);
    expect(ages.filter((a) => a !== null && a > 90).length).toBeGreaterThan(0);
    expect(ages.filter((a) => a !== null && a < 31).length).toBeGreaterThan(ages.length / 2);
  });

  it('serves $expand=manager($select=id) on /users in Graph’s shape, omitted without a manager', async () => {
    const ex = new Map(users().map((u) => [u.id, u.managerId]));
    const r = await graph(emu, token, '/users?$select=id&$expand=manager($select=id)&$top=999');
    expect(r.status).toBe(200);
    const value = r.body['value'] as { id: string; manager?: { id: string; '@odata.type': string } }[];
    expect(value.length).toBe(ex.size);
    for (const u of value) {
      const m = ex.get(u.id) ?? null;
      if (m === null) expect(u).not.toHaveProperty('manager');
      else expect(u.manager).toEqual({ '@odata.type': '#microsoft.graph.user', id: m });
    }
    const withMgr = value.find((u) => u.manager) as { id: string; manager: { id: string } };
    const one = await graph(emu, token, `/users/${withMgr.id}/manager`);
    expect(one.status).toBe(200);
    expect(one.body['id']).toBe(withMgr.manager.id);
    const none = value.find((u) => !u.manager) as { id: string };
    const missing = await graph(emu, token, `/users/${none.id}/manager`);
    expect(missing.status).toBe(404);
  });

  it('needs AuditLog.Read.All for signInActivity (403 Authorization_RequestDenied) and pages by at most 500', async () => {
    const ok = await graph(emu, token, '/users?$select=id,signInActivity&$top=999');
    expect(ok.status).toBe(200);
    // Size S has 200 users: one page (the 500 cap itself is in reads.test.ts, on an M tenant).
    expect((ok.body['value'] as unknown[]).length).toBe(200);
    const app = emu.app('readonly');
    const roles = app.roles;
    expect(roles).toContain('AuditLog.Read.All');
    app.roles = ['User.Read.All'];
    try {
      const t = await getToken(emu, 'readonly');
      const denied = await graph(emu, t, '/users?$select=id,signInActivity');
      expect(denied.status).toBe(403);
      expect(denied.body['error']).toMatchObject({ code: 'Authorization_RequestDenied' });
      expect((await graph(emu, t, '/users?$select=id,displayName')).status).toBe(200);
    } finally {
      app.roles = roles;
    }
    const delta = await graph(emu, token, '/users/delta?$select=id,signInActivity');
    expect(delta.status).toBe(400);
  });

  it('tracks managers in users delta (manager@delta) and mutate changes them', async () => {
    let r = await graph(emu, token, '/users/delta?$select=id,displayName,manager');
    const first = new Map<string, string | null>();
    for (;;) {
      for (const u of r.body['value'] as { id: string; 'manager@delta'?: { id: string }[] }[])
        first.set(u.id, u['manager@delta']?.[0]?.id ?? null);
      const next = r.body['@odata.nextLink'] as string | undefined;
      if (!next) break;
      r = await graph(emu, token, next);
    }
    expect(first).toEqual(new Map(users().map((u) => [u.id, u.managerId])));
    const deltaLink = r.body['@odata.deltaLink'] as string;
    const changes = emu.mutate(150, 3);
    expect(changes.some((c) => c.properties?.includes('manager'))).toBe(true);
    const state = new Map(first);
    let d = await graph(emu, token, deltaLink);
    for (;;) {
      for (const u of d.body['value'] as { id: string; '@removed'?: unknown; 'manager@delta'?: { id: string; '@removed'?: unknown }[] }[]) {
        if (u['@removed']) {
          state.delete(u.id);
          continue;
        }
        const md = u['manager@delta'];
        if (md) state.set(u.id, md.find((m) => !m['@removed'])?.id ?? null);
        else if (!state.has(u.id)) state.set(u.id, null);
      }
      const next = d.body['@odata.nextLink'] as string | undefined;
      if (!next) break;
      d = await graph(emu, token, next);
    }
    expect(state).toEqual(new Map(users().map((u) => [u.id, u.managerId])));
  });
});
