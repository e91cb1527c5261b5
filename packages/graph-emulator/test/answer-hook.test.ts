import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator, TenantExport } from '../src/index';
import { getToken, graph, start, type Json } from './helpers';

const EVENTUAL = { headers: { ConsistencyLevel: 'eventual' } };

/**
 * The reads the sync worker uses to check a single membership or assignment (group-list-members.md:
 * `$filter` on a directory-object relationship is an advanced query; user-list-approleassignments.md:
 * `$filter=resourceId eq {id}`), and the hook that lets a test deliver an answer after a write.
 */
describe('single-link reads and the beforeAnswer hook', () => {
  let emu: RunningEmulator;
  let token: string;
  let ex: TenantExport;
  beforeAll(async () => {
    emu = await start({ settings: { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } } });
    token = await getToken(emu, 'provisioning');
    ex = emu.exportTenant();
  });
  afterAll(() => emu.close());

  const groupWithUsers = () => {
    const users = new Set(ex.users.map((u) => String(u['id'])));
    const g = ex.groups.find((x) => x.members.filter((m) => users.has(m)).length >= 2 && !(x['groupTypes'] as string[]).length);
    if (!g) throw new Error('the S tenant has no security group with two user members');
    return { group: g, members: g.members.filter((m) => users.has(m)) };
  };

  it('filters a group’s members on id (advanced query only)', async () => {
    const { group, members } = groupWithUsers();
    const [a, b] = members as [string, string];
    const one = await graph(emu, token, `/groups/${group.id}/members?$filter=id eq '${a}'&$count=true&$select=id`, EVENTUAL);
    expect(one.status).toBe(200);
    expect((one.body['value'] as Json[]).map((m) => m['id'])).toEqual([a]);
    const both = await graph(emu, token, `/groups/${group.id}/members?$filter=id in ('${a}','${b}')&$count=true&$select=id`, EVENTUAL);
    expect((both.body['value'] as Json[]).map((m) => m['id']).sort()).toEqual([a, b].sort());
    const outsider = ex.users.map((u) => String(u['id'])).find((u) => !group.members.includes(u))!;
    const none = await graph(emu, token, `/groups/${group.id}/members?$filter=id eq '${outsider}'&$count=true&$select=id`, EVENTUAL);
    expect(none.body['value']).toEqual([]);
    const plain = await graph(emu, token, `/groups/${group.id}/members?$filter=id eq '${a}'`);
    expect(plain.status).toBe(400);
  });

  it('filters a principal’s app role assignments on resourceId', async () => {
    const byPrincipal = new Map<string, Json[]>();
    for (const a of ex.appRoleAssignments) {
      const list = byPrincipal.get(String(a['principalId'])) ?? [];
      list.push(a);
      byPrincipal.set(String(a['principalId']), list);
    }
    const userIds = new Set(ex.users.map((u) => String(u['id'])));
    const [principal, list] = [...byPrincipal].find(([p, l]) => userIds.has(p) && new Set(l.map((a) => a['resourceId'])).size >= 2)!;
    const resource = String(list[0]!['resourceId']);
    const r = await graph(
      emu,
      token,
      `/users/${principal}/appRoleAssignments?$filter=resourceId eq ${resource}&$select=id,appRoleId,resourceId`,
    );
    expect(r.status).toBe(200);
    const got = r.body['value'] as Json[];
    expect(got.map((a) => a['id']).sort()).toEqual(
      list
        .filter((a) => a['resourceId'] === resource)
        .map((a) => a['id'])
        .sort(),
    );
    expect(got.every((a) => a['resourceId'] === resource)).toBe(true);
  });

  it('delivers an answer computed before a write that happened while it was held', async () => {
    const { group, members } = groupWithUsers();
    const target = members[0]!;
    const path = `/groups/${group.id}/members?$filter=id eq '${target}'&$count=true&$select=id`;
    let fired = 0;
    const remove = emu.beforeAnswer(async (req) => {
      if (req.method !== 'GET' || !req.path.endsWith('/members') || fired++ > 0) return;
      const del = await graph(emu, token, `/groups/${group.id}/members/${target}/$ref`, { method: 'DELETE' });
      expect(del.status).toBe(204);
    });
    try {
      const held = await graph(emu, token, path, EVENTUAL);
      // Computed before the removal, delivered after it.
      expect((held.body['value'] as Json[]).map((m) => m['id'])).toEqual([target]);
    } finally {
      remove();
    }
    expect(fired).toBe(1);
    const after = await graph(emu, token, path, EVENTUAL);
    expect(after.body['value']).toEqual([]);
  });
});
