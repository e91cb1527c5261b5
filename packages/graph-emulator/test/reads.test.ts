import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator, TenantExport } from '../src/index';
import { getToken, graph, start, type Json } from './helpers';

const EVENTUAL = { headers: { ConsistencyLevel: 'eventual' } };

async function all(emu: RunningEmulator, token: string, first: string, init: RequestInit = {}): Promise<Json[]> {
  const out: Json[] = [];
  let url: string | undefined = first;
  while (url) {
    const r = await graph(emu, token, url, init);
    expect(r.status).toBe(200);
    out.push(...(r.body['value'] as Json[]));
    url = r.body['@odata.nextLink'] as string | undefined;
  }
  return out;
}

describe('Graph reads and query options', () => {
  let emu: RunningEmulator;
  let token: string;
  let ex: TenantExport;
  beforeAll(async () => {
    emu = await start({ settings: { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } } });
    token = await getToken(emu, 'readonly');
    ex = emu.exportTenant();
  });
  afterAll(() => emu.close());

  it('echoes client-request-id and sets request-id and the error envelope', async () => {
    const r = await graph(emu, token, '/users/00000000-0000-0000-0000-000000000001', { headers: { 'client-request-id': 'abc-123' } });
    expect(r.status).toBe(404);
    expect(r.headers.get('client-request-id')).toBe('abc-123');
    expect(r.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('content-type')).toMatch(/^application\/json;odata\.metadata=minimal/);
    expect(r.body).toEqual({
      error: {
        code: 'Request_ResourceNotFound',
        message:
          "Resource '00000000-0000-0000-0000-000000000001' does not exist or one of its queried reference-property objects are not present.",
        innerError: { date: expect.any(String), 'request-id': r.headers.get('request-id'), 'client-request-id': 'abc-123' },
      },
    });
  });

  it('gets a user by id and by userPrincipalName', async () => {
    const u = ex.users[3] as Json;
    const byId = await graph(emu, token, `/users/${String(u['id'])}?$select=id,accountEnabled`);
    expect(byId.body).toMatchObject({ id: u['id'], accountEnabled: u['accountEnabled'] });
    expect(String(byId.body['@odata.context'])).toMatch(/#users\(id,accountEnabled\)\/\$entity$/);
    const byUpn = await graph(emu, token, `/users/${encodeURIComponent(String(u['userPrincipalName']))}`);
    expect(byUpn.body['id']).toBe(u['id']);
  });

  it('applies $count only with ConsistencyLevel: eventual, and only on the first page', async () => {
    const plain = await graph(emu, token, '/users/$count');
    expect(plain.status).toBe(400);
    expect(plain.body['error']).toMatchObject({ code: 'Request_BadRequest', message: '$count is not currently supported.' });
    const counted = await fetch(`${emu.config.baseUrl}/v1.0/users/$count`, {
      headers: { authorization: `Bearer ${token}`, ConsistencyLevel: 'eventual' },
    });
    expect(counted.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await counted.text()).toBe(String(ex.users.length));
    const ignored = await graph(emu, token, '/users?$count=true&$top=5');
    expect(ignored.body['@odata.count']).toBeUndefined();
    const first = await graph(emu, token, '/users?$count=true&$top=5', EVENTUAL);
    expect(first.body['@odata.count']).toBe(ex.users.length);
    const second = await graph(emu, token, first.body['@odata.nextLink'] as string, EVENTUAL);
    expect(second.body['@odata.count']).toBeUndefined();
    const groups = await fetch(`${emu.config.baseUrl}/v1.0/groups/$count`, {
      headers: { authorization: `Bearer ${token}`, ConsistencyLevel: 'eventual' },
    });
    expect(await groups.text()).toBe(String(ex.groups.length));
  });

  it('filters groups with onPremisesSyncEnabled ne true only as an advanced query', async () => {
    const bad = await graph(emu, token, '/groups?$filter=onPremisesSyncEnabled ne true');
    expect(bad.status).toBe(400);
    expect(bad.body['error']).toMatchObject({ code: 'Request_UnsupportedQuery' });
    const noCount = await graph(emu, token, '/groups?$filter=onPremisesSyncEnabled ne true', EVENTUAL);
    expect(noCount.status).toBe(400);
    const rows = await all(emu, token, '/groups?$filter=onPremisesSyncEnabled ne true&$count=true&$select=id&$top=7', EVENTUAL);
    const expected = ex.groups.filter((g) => g['onPremisesSyncEnabled'] !== true).map((g) => g.id);
    expect(rows.map((g) => g['id'])).toEqual(expected);
    expect(expected.length).toBeLessThan(ex.groups.length);
  });

  it('filters service principals by servicePrincipalType', async () => {
    for (const type of ['Application', 'ManagedIdentity']) {
      const rows = await all(emu, token, `/servicePrincipals?$filter=servicePrincipalType eq '${type}'&$select=id,servicePrincipalType`);
      expect(rows.map((r) => r['id'])).toEqual(ex.servicePrincipals.filter((s) => s['servicePrincipalType'] === type).map((s) => s.id));
      expect(rows.length).toBeGreaterThan(0);
    }
  });

  it('supports simple eq / startswith / in filters on users', async () => {
    const disabled = await all(emu, token, '/users?$filter=accountEnabled eq false&$select=id');
    expect(disabled.map((u) => u['id'])).toEqual(ex.users.filter((u) => u['accountEnabled'] === false).map((u) => u['id']));
    const guests = await all(emu, token, "/users?$filter=userType eq 'Guest'&$select=id,userPrincipalName");
    for (const g of guests) expect(String(g['userPrincipalName'])).toContain('#EXT#');
    const endsWith = await graph(emu, token, "/users?$filter=endswith(mail,'example')");
    expect(endsWith.status).toBe(400);
  });

  it('rejects unknown $select properties and collection-only ones', async () => {
    const unknown = await graph(emu, token, '/users?$select=id,nonsense');
    expect(unknown.status).toBe(400);
    const skills = await graph(emu, token, '/users?$select=id,skills');
    expect(skills.status).toBe(501);
  });

  it('caps pages at 500 when signInActivity is selected (Graph’s documented maximum), without an error', async () => {
    // Size S has too few users to fill a page of 500.
    const m = await start({ size: 'M', seed: 3, settings: { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } } });
    try {
      const t = await getToken(m, 'readonly');
      const capped = await graph(m, t, '/users?$select=id,signInActivity&$top=999');
      expect(capped.status).toBe(200);
      expect((capped.body['value'] as unknown[]).length).toBe(500);
      expect(String(capped.body['@odata.nextLink'])).toContain('$skiptoken=');
      const smaller = await graph(m, t, '/users?$select=id,signInActivity&$top=300');
      expect((smaller.body['value'] as unknown[]).length).toBe(300);
      const filtered = await graph(m, t, '/users?$select=id&$filter=signInActivity/lastSignInDateTime le 2100-01-01T00:00:00Z&$top=999');
      expect((filtered.body['value'] as unknown[]).length).toBeLessThanOrEqual(500);
      const plain = await graph(m, t, '/users?$select=id&$top=999');
      expect((plain.body['value'] as unknown[]).length).toBe(999);
    } finally {
      await m.close();
    }
  });

  it('expires page tokens with Directory_ExpiredPageToken', async () => {
    emu.updateSettings({ pageTokenTtlSeconds: 1 });
    try {
      const first = await graph(emu, token, '/users?$top=10');
      await new Promise((r) => setTimeout(r, 2100));
      const next = await graph(emu, token, first.body['@odata.nextLink'] as string);
      expect(next.status).toBe(400);
      expect(next.body['error']).toMatchObject({ code: 'Directory_ExpiredPageToken' });
    } finally {
      emu.updateSettings({ pageTokenTtlSeconds: 3600 });
    }
  });

  it('lists group members and owners (with devices and org contacts) in pages', async () => {
    const group = [...ex.groups].sort((a, b) => b.members.length - a.members.length)[0] as TenantExport['groups'][number];
    const members = await all(emu, token, `/groups/${group.id}/members?$top=13&$select=id`);
    expect(members.map((m) => m['id'])).toEqual(group.members);
    expect(members.every((m) => typeof m['@odata.type'] === 'string')).toBe(true);
    const withOwners = ex.groups.find((g) => g.owners.length > 0) as TenantExport['groups'][number];
    const owners = await all(emu, token, `/groups/${withOwners.id}/owners`);
    expect(owners.map((o) => o['id'])).toEqual(withOwners.owners);
    const deviceIds = new Set(ex.devices.map((d) => d['id']));
    const contactIds = new Set(ex.orgContacts.map((c) => c['id']));
    const gDev = ex.groups.find((g) => g.members.some((m) => deviceIds.has(m))) as TenantExport['groups'][number];
    const gCon = ex.groups.find((g) => g.members.some((m) => contactIds.has(m))) as TenantExport['groups'][number];
    const devTypes = (await all(emu, token, `/groups/${gDev.id}/members`)).map((m) => m['@odata.type']);
    expect(devTypes).toContain('#microsoft.graph.device');
    const conTypes = (await all(emu, token, `/groups/${gCon.id}/members`)).map((m) => m['@odata.type']);
    expect(conTypes).toContain('#microsoft.graph.orgContact');
    const users = await all(emu, token, `/groups/${gDev.id}/members/microsoft.graph.user?$select=id`);
    expect(users.every((u) => ex.users.some((x) => x['id'] === u['id']))).toBe(true);
  });

  it('contains a group nesting cycle', () => {
    const groupIds = new Set(ex.groups.map((g) => g.id));
    const edges = new Map(ex.groups.map((g) => [g.id, g.members.filter((m) => groupIds.has(m))]));
    const onStack = new Set<string>();
    const done = new Set<string>();
    let cycle = false;
    const visit = (id: string): void => {
      if (onStack.has(id)) {
        cycle = true;
        return;
      }
      if (done.has(id)) return;
      onStack.add(id);
      for (const n of edges.get(id) ?? []) visit(n);
      onStack.delete(id);
      done.add(id);
    };
    for (const id of groupIds) visit(id);
    expect(cycle).toBe(true);
  });

  it('lists appRoleAssignedTo and service principal owners', async () => {
    const sp = [...ex.servicePrincipals].sort(
      (a, b) =>
        ex.appRoleAssignments.filter((x) => x['resourceId'] === b.id).length -
        ex.appRoleAssignments.filter((x) => x['resourceId'] === a.id).length,
    )[0] as TenantExport['servicePrincipals'][number];
    const rows = await all(emu, token, `/servicePrincipals/${sp.id}/appRoleAssignedTo?$top=5`);
    expect(rows.map((r) => r['id']).sort()).toEqual(
      ex.appRoleAssignments
        .filter((a) => a['resourceId'] === sp.id)
        .map((a) => a['id'])
        .sort(),
    );
    expect(rows[0]).toMatchObject({ resourceId: sp.id, principalType: expect.stringMatching(/^(User|Group|ServicePrincipal)$/) });
    const owned = ex.servicePrincipals.find((s) => s.owners.length > 0) as TenantExport['servicePrincipals'][number];
    const owners = await all(emu, token, `/servicePrincipals/${owned.id}/owners`);
    expect(owners.map((o) => o['id'])).toEqual(owned.owners);
    const byAppId = await graph(emu, token, `/servicePrincipals(appId='${String(owned['appId'])}')?$select=id`);
    expect(byAppId.body['id']).toBe(owned.id);
  });

  it('does not page /directoryRoles or their members', async () => {
    const r = await graph(emu, token, '/directoryRoles?$top=1');
    expect(r.body['@odata.nextLink']).toBeUndefined();
    const roles = r.body['value'] as Json[];
    expect(roles.length).toBe(ex.directoryRoles.length);
    const big = [...ex.directoryRoles].sort((a, b) => b.members.length - a.members.length)[0] as TenantExport['directoryRoles'][number];
    const m = await graph(emu, token, `/directoryRoles/${String(big['id'])}/members`);
    expect((m.body['value'] as Json[]).map((x) => x['id']).sort()).toEqual([...big.members].sort());
    const byTemplate = await graph(emu, token, `/directoryRoles(roleTemplateId='${String(big['roleTemplateId'])}')`);
    expect(byTemplate.body['id']).toBe(big['id']);
  });

  it('lists role definitions, assignments (with $filter) and eligibility schedules', async () => {
    const defs = await all(emu, token, '/roleManagement/directory/roleDefinitions');
    expect(defs.length).toBe(ex.roleDefinitions.length);
    const ga = defs.find((d) => d['id'] === '62e90394-69f5-4237-9190-012177145e10');
    expect(ga).toMatchObject({ displayName: 'Global Administrator', isBuiltIn: true, templateId: ga?.['id'] });
    const assignments = await all(emu, token, '/roleManagement/directory/roleAssignments?$top=3');
    expect(assignments.length).toBe(ex.roleAssignments.length);
    expect(String(assignments[0]?.['id'])).toMatch(/-1$/);
    const p = String(ex.roleAssignments[0]?.['principalId']);
    const filtered = await all(emu, token, `/roleManagement/directory/roleAssignments?$filter=principalId eq '${p}'`);
    expect(filtered.map((a) => a['id'])).toEqual(ex.roleAssignments.filter((a) => a['principalId'] === p).map((a) => a['id']));
    const elig = await all(emu, token, '/roleManagement/directory/roleEligibilitySchedules');
    expect(elig.length).toBe(ex.roleEligibilitySchedules.length);
    expect(elig[0]).toMatchObject({
      memberType: 'Direct',
      status: 'Provisioned',
      scheduleInfo: { expiration: { type: expect.any(String) } },
    });
  });

  it('rejects $top out of range on every paged collection', async () => {
    for (const p of [
      '/groups',
      '/servicePrincipals',
      `/groups/${ex.groups[0]?.id ?? ''}/members`,
      '/roleManagement/directory/roleAssignments',
    ]) {
      const r = await graph(emu, token, `${p}?$top=1000`);
      expect(r.status).toBe(400);
      expect(r.body['error']).toMatchObject({
        code: 'Request_UnsupportedQuery',
        message: "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
      });
    }
  });
});
