import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningEmulator, TenantExport } from '../src/index';
import { getToken, graph, start, type Json } from './helpers';

interface Round {
  items: Json[];
  deltaLink: string;
  pages: number;
}

async function round(emu: RunningEmulator, token: string, url: string, init: RequestInit = {}): Promise<Round> {
  const items: Json[] = [];
  let next: string | undefined = url;
  let pages = 0;
  while (true) {
    const r = await graph(emu, token, next as string, init);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    pages++;
    items.push(...(r.body['value'] as Json[]));
    expect(r.body['@odata.nextLink'] !== undefined && r.body['@odata.deltaLink'] !== undefined).toBe(false);
    if (r.body['@odata.deltaLink']) return { items, deltaLink: r.body['@odata.deltaLink'] as string, pages };
    next = r.body['@odata.nextLink'] as string;
    expect(next.startsWith(`${emu.config.baseUrl}/v1.0/`)).toBe(true);
  }
}

type Link = { '@odata.type': string; id: string; '@removed'?: { reason: string } };

/** Merges repeated group objects (big groups are split over pages) into id -> member/owner sets. */
function mergeGroups(items: Json[]): Map<string, { members: Set<string>; owners: Set<string>; removed?: string; seen: number }> {
  const out = new Map<string, { members: Set<string>; owners: Set<string>; removed?: string; seen: number }>();
  for (const it of items) {
    const id = String(it['id']);
    let g = out.get(id);
    if (!g) out.set(id, (g = { members: new Set(), owners: new Set(), seen: 0 }));
    g.seen++;
    if (it['@removed']) g.removed = (it['@removed'] as { reason: string }).reason;
    for (const [rel, set] of [
      ['members@delta', g.members],
      ['owners@delta', g.owners],
    ] as const) {
      for (const l of (it[rel] as Link[] | undefined) ?? []) {
        if (l['@removed']) set.delete(l.id);
        else set.add(l.id);
      }
    }
  }
  return out;
}

describe('delta queries', () => {
  let emu: RunningEmulator | undefined;
  let token: string;
  let ex: TenantExport;
  const boot = async (settings = {}) => {
    await emu?.close();
    emu = await start({ settings: { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 }, ...settings } });
    token = await getToken(emu);
    ex = emu.exportTenant();
    return emu;
  };
  beforeEach(async () => {
    await boot();
  });
  afterAll(() => emu?.close());

  it('returns the full users state in the first round, then empty rounds', async () => {
    const e = emu as RunningEmulator;
    const r1 = await round(e, token, '/users/delta?$select=id,displayName,accountEnabled');
    expect(r1.items.map((u) => u['id'])).toEqual(ex.users.map((u) => u['id']));
    expect(r1.pages).toBeGreaterThan(1);
    const r2 = await graph(e, token, r1.deltaLink);
    expect(r2.body['value']).toEqual([]);
    expect(String(r2.body['@odata.deltaLink'])).toContain('$deltatoken=');
  });

  it('splits large members@delta lists over pages, repeating the group', async () => {
    const e = await boot({ deltaLinksPerPage: 25 });
    const r = await round(e, token, '/groups/delta?$select=displayName,members,owners');
    const merged = mergeGroups(r.items);
    const big = ex.groups.find((g) => g.members.length > 60) as TenantExport['groups'][number];
    expect(merged.get(big.id)?.seen).toBeGreaterThan(2);
    for (const g of ex.groups) {
      expect([...(merged.get(g.id)?.members ?? [])].sort()).toEqual([...g.members].sort());
      expect([...(merged.get(g.id)?.owners ?? [])].sort()).toEqual([...g.owners].sort());
    }
    const repeated = r.items.filter((i) => i['id'] === big.id);
    for (const rep of repeated) expect(rep['displayName']).toBe(big['displayName']);
    const types = new Set(r.items.flatMap((i) => ((i['members@delta'] as Link[] | undefined) ?? []).map((l) => l['@odata.type'])));
    expect(types).toEqual(
      new Set([
        '#microsoft.graph.user',
        '#microsoft.graph.group',
        '#microsoft.graph.device',
        '#microsoft.graph.orgContact',
        '#microsoft.graph.servicePrincipal',
      ]),
    );
  });

  it('reports member additions and removals, and deleted objects with @removed', async () => {
    const e = emu as RunningEmulator;
    const r1 = await round(e, token, '/groups/delta?$select=displayName,members,owners');
    const g = ex.groups.find(
      (x) => x.members.length > 2 && ex.users.some((u) => u['id'] === x.members[0]),
    ) as TenantExport['groups'][number];
    const removed = g.members[0] as string;
    const added = ex.users.find((u) => !g.members.includes(String(u['id'])))?.['id'] as string;
    const del = await graph(e, token, `/groups/${g.id}/members/${removed}/$ref`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    const add = await graph(e, token, `/groups/${g.id}/members/$ref`, {
      method: 'POST',
      body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${added}` }),
    });
    expect(add.status).toBe(204);
    const r2 = await round(e, token, r1.deltaLink);
    const item = r2.items.find((i) => i['id'] === g.id) as Json;
    const links = item['members@delta'] as Link[];
    expect(links).toContainEqual({ '@odata.type': '#microsoft.graph.user', id: added });
    expect(links).toContainEqual({ '@odata.type': '#microsoft.graph.user', id: removed, '@removed': { reason: 'deleted' } });
    expect(r2.items).toHaveLength(1);
  });

  it('reports deleted users as @removed changed and tracks only selected properties', async () => {
    const e = emu as RunningEmulator;
    const r1 = await round(e, token, '/users/delta?$select=displayName,accountEnabled');
    const changes = e.mutate(40, 9);
    const deleted = changes.filter((c) => c.kind === 'userDeleted').map((c) => c.objectId);
    const renamed = changes.filter((c) => c.kind === 'userUpdated' && c.properties?.includes('displayName')).map((c) => c.objectId);
    const deptOnly = changes
      .filter((c) => c.kind === 'userUpdated' && c.properties?.includes('department'))
      .map((c) => c.objectId)
      .filter(
        (id) =>
          !renamed.includes(id) &&
          !changes.some((c) => c.objectId === id && c.kind !== 'userUpdated') &&
          !changes.some((c) => c.objectId === id && c.properties?.includes('accountEnabled')),
      );
    expect(deleted.length + renamed.length).toBeGreaterThan(0);
    const r2 = await round(e, token, r1.deltaLink);
    const byId = new Map(r2.items.map((i) => [String(i['id']), i]));
    for (const id of deleted) expect(byId.get(id)?.['@removed']).toEqual({ reason: 'changed' });
    const now = new Map(e.exportTenant().users.map((u) => [String(u['id']), u]));
    for (const id of renamed) if (now.has(id)) expect(byId.get(id)?.['displayName']).toBe(now.get(id)?.['displayName']);
    for (const id of deptOnly) expect(byId.has(id)).toBe(false);
  });

  it('reports deleted groups with @removed', async () => {
    const e = emu as RunningEmulator;
    const r1 = await round(e, token, '/groups/delta?$select=displayName');
    let changes = e.mutate(200, 4).filter((c) => c.kind === 'groupDeleted');
    for (let s = 5; changes.length === 0 && s < 30; s++) changes = e.mutate(200, s).filter((c) => c.kind === 'groupDeleted');
    expect(changes.length).toBeGreaterThan(0);
    const r2 = await round(e, token, r1.deltaLink);
    for (const c of changes) {
      const it = r2.items.find((i) => i['id'] === c.objectId);
      expect(it?.['@removed']).toEqual({ reason: expect.stringMatching(/^(deleted|changed)$/) });
    }
  });

  it('$deltatoken=latest returns no data, only a deltaLink that sees later changes', async () => {
    const e = emu as RunningEmulator;
    const latest = await graph(e, token, '/users/delta?$deltatoken=latest&$select=displayName');
    expect(latest.body['value']).toEqual([]);
    const changes = e.mutate(60, 1);
    const created = new Set(changes.filter((c) => c.kind === 'userCreated').map((c) => c.objectId));
    const deleted = new Set(changes.filter((c) => c.kind === 'userDeleted').map((c) => c.objectId));
    const expected = new Set(
      changes
        .filter(
          (c) =>
            c.kind === 'userCreated' || c.kind === 'userDeleted' || (c.kind === 'userUpdated' && c.properties?.includes('displayName')),
        )
        .map((c) => c.objectId)
        .filter((id) => !(created.has(id) && deleted.has(id))),
    );
    expect(expected.size).toBeGreaterThan(0);
    const r = await round(e, token, latest.body['@odata.deltaLink'] as string);
    expect(new Set(r.items.map((i) => String(i['id'])))).toEqual(expected);
  });

  it('expires delta tokens with 400 syncStateNotFound', async () => {
    const e = await boot({ deltaTokenTtlSeconds: 1 });
    const r1 = await round(e, token, '/servicePrincipals/delta?$select=displayName');
    expect(r1.items.length).toBe(ex.servicePrincipals.length);
    await new Promise((r) => setTimeout(r, 2100));
    const r2 = await graph(e, token, r1.deltaLink);
    expect(r2.status).toBe(400);
    expect(r2.body['error']).toMatchObject({ code: 'syncStateNotFound' });
  });

  it('answers forceResync with 410 Gone and a Location for a fresh round', async () => {
    const e = emu as RunningEmulator;
    const r1 = await round(e, token, '/users/delta?$select=displayName');
    e.updateSettings({ forceResync: true });
    const gone = await graph(e, token, r1.deltaLink);
    expect(gone.status).toBe(410);
    const loc = gone.headers.get('location') as string;
    expect(loc).toBe(`${e.config.baseUrl}/v1.0/users/delta?$select=displayName&$deltatoken=`);
    expect(e.settings().forceResync).toBe(false);
    const again = await round(e, token, loc);
    expect(again.items.length).toBe(ex.users.length);
  });

  it('replays already-delivered changes when replayRate is set', async () => {
    const e = emu as RunningEmulator;
    const r1 = await round(e, token, '/users/delta?$select=displayName');
    const first = e
      .mutate(30, 2)
      .filter((c) => c.kind.startsWith('user'))
      .map((c) => c.objectId);
    const r2 = await round(e, token, r1.deltaLink);
    expect(r2.items.length).toBeGreaterThan(0);
    e.updateSettings({ replayRate: 1 });
    const r3 = await round(e, token, r2.deltaLink);
    const replayed = r3.items.map((i) => String(i['id']));
    expect(replayed.some((id) => first.includes(id))).toBe(true);
  });

  it('emits directoryRoles members@delta after a role assignment', async () => {
    const e = emu as RunningEmulator;
    const r1 = await round(e, token, '/directoryRoles/delta');
    expect(r1.items.length).toBe(ex.directoryRoles.length);
    const user = ex.users.find((u) => u['userType'] === 'Member') as Json;
    const res = await graph(e, token, '/roleManagement/directory/roleAssignments', {
      method: 'POST',
      body: JSON.stringify({
        '@odata.type': '#microsoft.graph.unifiedRoleAssignment',
        roleDefinitionId: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
        principalId: user['id'],
        directoryScopeId: '/',
      }),
    });
    expect(res.status).toBe(201);
    const r2 = await round(e, token, r1.deltaLink);
    const role = r2.items.find((i) => ((i['members@delta'] as Link[] | undefined) ?? []).some((l) => l.id === user['id']));
    expect(role).toBeDefined();
  });

  it('returns only changed properties with Prefer: return=minimal', async () => {
    const e = emu as RunningEmulator;
    const r1 = await round(e, token, '/users/delta?$select=displayName,jobTitle,accountEnabled');
    const changes = [];
    let target: string | undefined;
    for (let seed = 1; seed < 2000 && !target; seed++) {
      const ch = e.mutate(1, seed);
      changes.push(...ch);
      const c = ch[0];
      if (
        c?.kind === 'userUpdated' &&
        c.properties?.join() === 'accountEnabled' &&
        !changes.slice(0, -1).some((x) => x.objectId === c.objectId || x.targetId === c.objectId)
      )
        target = c.objectId;
    }
    expect(target).toBeDefined();
    const r2 = await round(e, token, r1.deltaLink, { headers: { Prefer: 'return=minimal' } });
    const it = r2.items.find((i) => i['id'] === target) as Json;
    expect(Object.keys(it).sort()).toEqual(['accountEnabled', 'id']);
    const full = await round(e, token, r1.deltaLink);
    expect(Object.keys(full.items.find((i) => i['id'] === target) as Json)).toEqual(
      expect.arrayContaining(['accountEnabled', 'displayName', 'id']),
    );
  });

  it('restricts rounds to $filter=id eq … or id eq …', async () => {
    const e = emu as RunningEmulator;
    const [a, b] = ex.groups;
    const r1 = await round(e, token, `/groups/delta?$select=displayName,members&$filter=id eq '${a?.id ?? ''}' or id eq '${b?.id ?? ''}'`);
    expect(new Set(r1.items.map((i) => i['id']))).toEqual(new Set([a?.id, b?.id]));
    const other = ex.groups[5] as TenantExport['groups'][number];
    const u = ex.users.find((x) => !other.members.includes(String(x['id']))) as Json;
    await graph(e, token, `/groups/${other.id}/members/$ref`, {
      method: 'POST',
      body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${String(u['id'])}` }),
    });
    expect((await round(e, token, r1.deltaLink)).items).toEqual([]);
    const bad = await graph(e, token, "/groups/delta?$filter=displayName eq 'x'");
    expect(bad.status).toBe(400);
  });

  it('filters a groups delta on at most 50 ids (URL-encoded like a client sends it); 51 is a 400', async () => {
    const e = emu as RunningEmulator;
    const ids = ex.groups.map((g) => g.id);
    const filter = (n: number) => encodeURIComponent(Array.from({ length: n }, (_, i) => `id eq '${ids[i % ids.length]!}'`).join(' or '));
    const ok = await round(e, token, `/groups/delta?$select=displayName,members,owners&$filter=${filter(50)}`);
    expect(new Set(ok.items.map((i) => i['id']))).toEqual(new Set(ids.slice(0, 50)));
    const tooMany = await graph(e, token, `/groups/delta?$select=displayName&$filter=${filter(51)}`);
    expect(tooMany.status).toBe(400);
    expect((tooMany.body['error'] as Json)['code']).toBe('Request_UnsupportedQuery');
  });
});
