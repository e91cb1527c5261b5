import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator, TenantExport } from '../src/index';
import { getToken, graph, start, type Json } from './helpers';

const ref = (id: string) => JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
const errCode = (b: Json) => (b['error'] as { code: string }).code;
const errMsg = (b: Json) => (b['error'] as { message: string }).message;

describe('writes', () => {
  let emu: RunningEmulator;
  let prov: string;
  let ro: string;
  let none: string;
  let ex: TenantExport;
  const member = () => ex.users.find((u) => u['userType'] === 'Member') as Json & { id: string };
  const fresh = () => {
    ex = emu.exportTenant();
    return ex;
  };

  beforeAll(async () => {
    emu = await start({ settings: { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } } });
    [prov, ro, none] = await Promise.all([getToken(emu, 'provisioning'), getToken(emu, 'readonly'), getToken(emu, 'unconsented')]);
    fresh();
  });
  afterAll(() => emu.close());

  it("adds and removes group members via $ref, with Graph's duplicate and missing errors", async () => {
    const g = ex.groups.find((x) => x['isAssignableToRole'] !== true) as TenantExport['groups'][number];
    const u = ex.users.find((x) => !g.members.includes(String(x['id']))) as Json & { id: string };
    const add = await graph(emu, prov, `/groups/${g.id}/members/$ref`, { method: 'POST', body: ref(u.id) });
    expect(add.status).toBe(204);
    expect(fresh().groups.find((x) => x.id === g.id)?.members).toContain(u.id);
    const dup = await graph(emu, prov, `/groups/${g.id}/members/$ref`, { method: 'POST', body: ref(u.id) });
    expect(dup.status).toBe(400);
    expect(errCode(dup.body)).toBe('Request_BadRequest');
    expect(errMsg(dup.body)).toBe("One or more added object references already exist for the following modified properties: 'members'.");
    const missing = randomUUID();
    const noObj = await graph(emu, prov, `/groups/${g.id}/members/$ref`, { method: 'POST', body: ref(missing) });
    expect(noObj.status).toBe(404);
    expect(errCode(noObj.body)).toBe('Request_ResourceNotFound');
    expect(errMsg(noObj.body)).toContain(missing);
    const noGroup = await graph(emu, prov, `/groups/${randomUUID()}/members/$ref`, { method: 'POST', body: ref(u.id) });
    expect(noGroup.status).toBe(404);
    const rm = await graph(emu, prov, `/groups/${g.id}/members/${u.id}/$ref`, { method: 'DELETE' });
    expect(rm.status).toBe(204);
    expect(fresh().groups.find((x) => x.id === g.id)?.members).not.toContain(u.id);
    const again = await graph(emu, prov, `/groups/${g.id}/members/${u.id}/$ref`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(errCode(again.body)).toBe('Request_ResourceNotFound');
    const badRef = await graph(emu, prov, `/groups/${g.id}/members/$ref`, {
      method: 'POST',
      body: JSON.stringify({ '@odata.id': 'nonsense' }),
    });
    expect(badRef.status).toBe(400);
  });

  it('adds and removes group owners; the last owner of a Microsoft 365 group stays', async () => {
    const g = ex.groups.find((x) => x['isAssignableToRole'] !== true && x.owners.length > 0) as TenantExport['groups'][number];
    const u = ex.users.find((x) => x['userType'] === 'Member' && !g.owners.includes(String(x['id']))) as Json & { id: string };
    expect((await graph(emu, prov, `/groups/${g.id}/owners/$ref`, { method: 'POST', body: ref(u.id) })).status).toBe(204);
    const dup = await graph(emu, prov, `/groups/${g.id}/owners/$ref`, { method: 'POST', body: ref(u.id) });
    expect(errMsg(dup.body)).toBe("One or more added object references already exist for the following modified properties: 'owners'.");
    expect((await graph(emu, prov, `/groups/${g.id}/owners/${u.id}/$ref`, { method: 'DELETE' })).status).toBe(204);
    const m365 = fresh().groups.find(
      (x) => (x['groupTypes'] as string[]).includes('Unified') && x['isAssignableToRole'] !== true,
    ) as TenantExport['groups'][number];
    const owners = [...m365.owners];
    for (const o of owners.slice(1))
      expect((await graph(emu, prov, `/groups/${m365.id}/owners/${o}/$ref`, { method: 'DELETE' })).status).toBe(204);
    if (owners.length === 0) {
      expect((await graph(emu, prov, `/groups/${m365.id}/owners/$ref`, { method: 'POST', body: ref(u.id) })).status).toBe(204);
      owners.push(u.id);
    }
    const last = await graph(emu, prov, `/groups/${m365.id}/owners/${owners[0] as string}/$ref`, { method: 'DELETE' });
    expect(last.status).toBe(400);
    expect(errMsg(last.body)).toBe('The group must have at least one owner, hence this owner cannot be removed.');
  });

  it('binds up to 20 members in one PATCH, all or nothing', async () => {
    const g = fresh().groups.find((x) => x['isAssignableToRole'] !== true && x.members.length < 50) as TenantExport['groups'][number];
    const candidates = ex.users.filter((u) => !g.members.includes(String(u['id']))).map((u) => String(u['id']));
    const tooMany = await graph(emu, prov, `/groups/${g.id}`, {
      method: 'PATCH',
      body: JSON.stringify({
        'members@odata.bind': candidates.slice(0, 21).map((id) => `https://graph.microsoft.com/v1.0/directoryObjects/${id}`),
      }),
    });
    expect(tooMany.status).toBe(400);
    const withMissing = await graph(emu, prov, `/groups/${g.id}`, {
      method: 'PATCH',
      body: JSON.stringify({
        'members@odata.bind': [...candidates.slice(0, 3), randomUUID()].map(
          (id) => `https://graph.microsoft.com/v1.0/directoryObjects/${id}`,
        ),
      }),
    });
    expect(withMissing.status).toBe(404);
    expect(fresh().groups.find((x) => x.id === g.id)?.members).toEqual(g.members);
    const ok = await graph(emu, prov, `/groups/${g.id}`, {
      method: 'PATCH',
      body: JSON.stringify({
        'members@odata.bind': candidates.slice(0, 20).map((id) => `https://graph.microsoft.com/v1.0/directoryObjects/${id}`),
      }),
    });
    expect(ok.status).toBe(204);
    expect(fresh().groups.find((x) => x.id === g.id)?.members).toEqual([...g.members, ...candidates.slice(0, 20)]);
  });

  it('creates (201) and deletes app role assignments, with duplicate and missing-object errors', async () => {
    const sp = ex.servicePrincipals.find(
      (s) =>
        (s['appRoles'] as Json[]).some((r) => (r['allowedMemberTypes'] as string[]).includes('User')) &&
        s['appId'] !== '00000003-0000-0000-c000-000000000000',
    ) as TenantExport['servicePrincipals'][number];
    const role = (sp['appRoles'] as Json[]).find((r) => (r['allowedMemberTypes'] as string[]).includes('User')) as Json;
    const u = ex.users.find(
      (x) => !ex.appRoleAssignments.some((a) => a['principalId'] === x['id'] && a['resourceId'] === sp.id),
    ) as Json & { id: string };
    const body = JSON.stringify({ principalId: u.id, resourceId: sp.id, appRoleId: role['id'] });
    const created = await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo`, { method: 'POST', body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      principalId: u.id,
      resourceId: sp.id,
      appRoleId: role['id'],
      principalType: 'User',
      resourceDisplayName: sp['displayName'],
      principalDisplayName: u['displayName'],
    });
    const id = String(created.body['id']);
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(fresh().appRoleAssignments.some((a) => a['id'] === id)).toBe(true);
    const listed = await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo/${id}`);
    expect(listed.body['id']).toBe(id);
    const dup = await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo`, { method: 'POST', body });
    expect(dup.status).toBe(400);
    expect(errMsg(dup.body)).toBe('Permission being assigned already exists on the object');
    const missing = await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo`, {
      method: 'POST',
      body: JSON.stringify({ principalId: randomUUID(), resourceId: sp.id, appRoleId: role['id'] }),
    });
    expect(missing.status).toBe(404);
    expect(errCode(missing.body)).toBe('Request_ResourceNotFound');
    const badRole = await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo`, {
      method: 'POST',
      body: JSON.stringify({ principalId: u.id, resourceId: sp.id, appRoleId: randomUUID() }),
    });
    expect(badRole.status).toBe(400);
    expect((await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(fresh().appRoleAssignments.some((a) => a['id'] === id)).toBe(false);
    expect((await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('adds and removes service principal owners via $ref', async () => {
    const sp = ex.servicePrincipals.find((s) => s['servicePrincipalType'] === 'Application') as TenantExport['servicePrincipals'][number];
    const u = ex.users.find((x) => x['userType'] === 'Member' && !sp.owners.includes(String(x['id']))) as Json & { id: string };
    expect((await graph(emu, prov, `/servicePrincipals/${sp.id}/owners/$ref`, { method: 'POST', body: ref(u.id) })).status).toBe(204);
    expect(fresh().servicePrincipals.find((s) => s.id === sp.id)?.owners).toContain(u.id);
    expect(fresh().servicePrincipalOwners).toContainEqual({ servicePrincipalId: sp.id, ownerId: u.id });
    const dup = await graph(emu, prov, `/servicePrincipals/${sp.id}/owners/$ref`, { method: 'POST', body: ref(u.id) });
    expect(errMsg(dup.body)).toBe("One or more added object references already exist for the following modified properties: 'owners'.");
    expect((await graph(emu, prov, `/servicePrincipals/${sp.id}/owners/${u.id}/$ref`, { method: 'DELETE' })).status).toBe(204);
    expect((await graph(emu, prov, `/servicePrincipals/${sp.id}/owners/${u.id}/$ref`, { method: 'DELETE' })).status).toBe(404);
  });

  it('creates and deletes directory role assignments', async () => {
    const u = member();
    const body = JSON.stringify({
      '@odata.type': '#microsoft.graph.unifiedRoleAssignment',
      roleDefinitionId: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
      principalId: u.id,
      directoryScopeId: '/',
    });
    const created = await graph(emu, prov, '/roleManagement/directory/roleAssignments', { method: 'POST', body });
    expect(created.status).toBe(201);
    expect(String(created.body['@odata.context'])).toMatch(/#roleManagement\/directory\/roleAssignments\/\$entity$/);
    const id = String(created.body['id']);
    expect(id).toMatch(/-1$/);
    expect(fresh().roleAssignments.some((a) => a['id'] === id)).toBe(true);
    const role = ex.directoryRoles.find((r) => r['roleTemplateId'] === 'f2ef992c-3afb-46b9-b7cf-a126ee74c451');
    expect(role?.members).toContain(u.id);
    const dup = await graph(emu, prov, '/roleManagement/directory/roleAssignments', { method: 'POST', body });
    expect(dup.status).toBe(400);
    expect(errMsg(dup.body)).toBe('A conflicting object with one or more of the specified property values is present in the directory.');
    const missing = await graph(emu, prov, '/roleManagement/directory/roleAssignments', {
      method: 'POST',
      body: JSON.stringify({ roleDefinitionId: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451', principalId: randomUUID(), directoryScopeId: '/' }),
    });
    expect(missing.status).toBe(404);
    expect((await graph(emu, prov, `/roleManagement/directory/roleAssignments/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(fresh().roleAssignments.some((a) => a['id'] === id)).toBe(false);
    expect((await graph(emu, prov, `/roleManagement/directory/roleAssignments/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('lists administrative units and assigns roles over them, refusing a bad directoryScopeId or role as Graph does', async () => {
    const list = await graph(emu, ro, '/administrativeUnits?$select=id,displayName');
    expect(list.status).toBe(200);
    const units = list.body['value'] as { id: string; displayName: string }[];
    expect(units.length).toBe(ex.administrativeUnits.length);
    expect(units.length).toBeGreaterThanOrEqual(2);
    const one = await graph(emu, ro, `/administrativeUnits/${units[0]!.id}`);
    expect(one.body['displayName']).toBe(units[0]!.displayName);
    expect((await graph(emu, ro, `/administrativeUnits/${randomUUID()}`)).status).toBe(404);
    expect((await graph(emu, none, '/administrativeUnits')).status).toBe(403);

    const u = member();
    const scope = `/administrativeUnits/${units[0]!.id}`;
    const post = (roleDefinitionId: string, directoryScopeId: string) =>
      graph(emu, prov, '/roleManagement/directory/roleAssignments', {
        method: 'POST',
        body: JSON.stringify({ roleDefinitionId, principalId: u.id, directoryScopeId }),
      });
    const userAdmin = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
    const created = await post(userAdmin, scope);
    expect(created.status).toBe(201);
    expect(created.body['directoryScopeId']).toBe(scope);
    const id = String(created.body['id']);
    expect(fresh().roleAssignments.find((a) => a['id'] === id)?.['directoryScopeId']).toBe(scope);
    // Scoped assignments do not make the principal a member of the tenant-wide directory role.
    expect(ex.directoryRoles.find((r) => r['roleTemplateId'] === userAdmin)?.members ?? []).not.toContain(u.id);
    expect((await post(userAdmin, scope)).status).toBe(400); // conflicting object

    const noUnit = await post(userAdmin, `/administrativeUnits/${randomUUID()}`);
    expect(noUnit.status).toBe(400);
    expect(errMsg(noUnit.body)).toMatch(/Invalid directoryScopeId/);
    expect((await post(userAdmin, '/administrativeUnits/not-a-guid')).status).toBe(400);
    expect((await post(userAdmin, 'administrativeUnits')).status).toBe(400);
    const globalAdmin = await post('62e90394-69f5-4237-9190-012177145e10', scope);
    expect(globalAdmin.status).toBe(400);
    expect(errMsg(globalAdmin.body)).toMatch(/cannot be assigned at an administrative unit scope/);

    expect(
      (await graph(emu, prov, `/roleManagement/directory/roleAssignments/${encodeURIComponent(id)}`, { method: 'DELETE' })).status,
    ).toBe(204);
    expect(fresh().roleAssignments.some((a) => a['id'] === id)).toBe(false);
  });

  it('lists app registrations and assigns roles over one of them, refusing a bad application or role as Graph does', async () => {
    const list = await graph(emu, ro, '/applications?$select=id,appId,displayName');
    expect(list.status).toBe(200);
    const apps = list.body['value'] as { id: string; appId: string; displayName: string }[];
    expect(apps.length).toBe(ex.applications.length);
    expect((await graph(emu, none, '/applications')).status).toBe(403);
    const app = apps[0]!;
    const u = member();
    const post = (roleDefinitionId: string, directoryScopeId: string) =>
      graph(emu, prov, '/roleManagement/directory/roleAssignments', {
        method: 'POST',
        body: JSON.stringify({ roleDefinitionId, principalId: u.id, directoryScopeId }),
      });
    const appAdmin = '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3';
    const created = await post(appAdmin, `/${app.id}`);
    expect(created.status).toBe(201);
    expect(created.body['directoryScopeId']).toBe(`/${app.id}`);
    const id = String(created.body['id']);
    // Its own id: not the tenant-wide assignment of the same role to the same user.
    const wide = await post(appAdmin, '/');
    expect(wide.status).toBe(201);
    expect(String(wide.body['id'])).not.toBe(id);
    expect((await post(appAdmin, `/${app.id}`)).status).toBe(400); // conflicting object
    // The scope is the registration's object id: its appId, or an unknown id, is refused.
    const byAppId = await post(appAdmin, `/${app.appId}`);
    expect(byAppId.status).toBe(400);
    expect(errMsg(byAppId.body)).toMatch(/no application with this object id/);
    const userAdmin = await post('fe930be7-5e62-47db-91af-98c3a49a38b1', `/${app.id}`);
    expect(userAdmin.status).toBe(400);
    expect(errMsg(userAdmin.body)).toMatch(/cannot be assigned at an application scope/);
    for (const a of [id, String(wide.body['id'])])
      expect(
        (await graph(emu, prov, `/roleManagement/directory/roleAssignments/${encodeURIComponent(a)}`, { method: 'DELETE' })).status,
      ).toBe(204);
    expect(fresh().roleAssignments.some((a) => a['id'] === id)).toBe(false);
  });

  it('adminAssign / adminRemove eligibility schedules with their expiration', async () => {
    const u = member();
    const end = '2030-01-01T00:00:00Z';
    const base = { roleDefinitionId: 'fe930be7-5e62-47db-91af-98c3a49a38b1', principalId: u.id, directoryScopeId: '/' };
    const assign = await graph(emu, prov, '/roleManagement/directory/roleEligibilityScheduleRequests', {
      method: 'POST',
      body: JSON.stringify({
        ...base,
        action: 'adminAssign',
        justification: 'test',
        scheduleInfo: { startDateTime: '2025-01-01T00:00:00Z', expiration: { type: 'afterDateTime', endDateTime: end } },
      }),
    });
    expect(assign.status).toBe(201);
    expect(assign.body).toMatchObject({ status: 'Provisioned', action: 'adminAssign', isValidationOnly: false });
    const scheduleId = String(assign.body['targetScheduleId']);
    const sched = fresh().roleEligibilitySchedules.find((s) => s['id'] === scheduleId);
    expect(sched).toMatchObject({
      ...base,
      memberType: 'Direct',
      scheduleInfo: { expiration: { type: 'afterDateTime', endDateTime: end } },
    });
    const listed = await graph(emu, prov, `/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '${u.id}'`);
    expect((listed.body['value'] as Json[]).map((s) => s['id'])).toContain(scheduleId);
    const dup = await graph(emu, prov, '/roleManagement/directory/roleEligibilityScheduleRequests', {
      method: 'POST',
      body: JSON.stringify({ ...base, action: 'adminAssign' }),
    });
    expect(dup.status).toBe(400);
    expect(errCode(dup.body)).toBe('RoleAssignmentExists');
    const remove = await graph(emu, prov, '/roleManagement/directory/roleEligibilityScheduleRequests', {
      method: 'POST',
      body: JSON.stringify({ ...base, action: 'adminRemove' }),
    });
    expect(remove.status).toBe(201);
    expect(remove.body['status']).toBe('Revoked');
    expect(fresh().roleEligibilitySchedules.some((s) => s['id'] === scheduleId)).toBe(false);
    const again = await graph(emu, prov, '/roleManagement/directory/roleEligibilityScheduleRequests', {
      method: 'POST',
      body: JSON.stringify({ ...base, action: 'adminRemove' }),
    });
    expect(again.status).toBe(400);
  });

  it('lists only eligibility schedules that have not ended, as Graph does', async () => {
    const now = Date.now();
    const ended = (sch: Json) => {
      const exp = (sch['scheduleInfo'] as Json)['expiration'] as Json;
      return exp['type'] === 'afterDateTime' && Date.parse(String(exp['endDateTime'])) <= now;
    };
    expect(fresh().roleEligibilitySchedules.length).toBeGreaterThan(0);
    expect(fresh().roleEligibilitySchedules.some(ended)).toBe(false);
    const u = member();
    const base = { roleDefinitionId: 'fe930be7-5e62-47db-91af-98c3a49a38b1', principalId: u.id, directoryScopeId: '/' };
    const past = await graph(emu, prov, '/roleManagement/directory/roleEligibilityScheduleRequests', {
      method: 'POST',
      body: JSON.stringify({
        ...base,
        action: 'adminAssign',
        scheduleInfo: {
          startDateTime: '2024-01-01T00:00:00Z',
          expiration: { type: 'afterDateTime', endDateTime: new Date(now + 1_000).toISOString() },
        },
      }),
    });
    expect(past.status).toBe(201);
    const id = String(past.body['targetScheduleId']);
    const listedIds = async () =>
      (
        (await graph(emu, prov, `/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '${u.id}'`)).body[
          'value'
        ] as Json[]
      ).map((x) => x['id']);
    expect(await listedIds()).toContain(id);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await listedIds()).not.toContain(id);
    expect(fresh().roleEligibilitySchedules.some((x) => x['id'] === id)).toBe(false);
  });

  it('403s writes whose permission the token lacks', async () => {
    const g = ex.groups.find((x) => x['isAssignableToRole'] !== true) as TenantExport['groups'][number];
    const u = ex.users.find((x) => !g.members.includes(String(x['id']))) as Json & { id: string };
    const denied = await graph(emu, none, `/groups/${g.id}/members/$ref`, { method: 'POST', body: ref(u.id) });
    expect(denied.status).toBe(403);
    expect(denied.body['error']).toMatchObject({
      code: 'Authorization_RequestDenied',
      message: 'Insufficient privileges to complete the operation.',
    });
    const roleWrite = await graph(emu, ro, '/roleManagement/directory/roleAssignments', {
      method: 'POST',
      body: JSON.stringify({ roleDefinitionId: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451', principalId: u.id, directoryScopeId: '/' }),
    });
    expect(roleWrite.status).toBe(403);
    const elig = await graph(emu, ro, '/roleManagement/directory/roleEligibilityScheduleRequests', {
      method: 'POST',
      body: JSON.stringify({
        action: 'adminAssign',
        roleDefinitionId: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
        principalId: u.id,
        directoryScopeId: '/',
      }),
    });
    expect(elig.status).toBe(403);
    const spOwner = await graph(emu, none, `/servicePrincipals/${ex.servicePrincipals[1]?.id ?? ''}/owners/$ref`, {
      method: 'POST',
      body: ref(u.id),
    });
    expect(spOwner.status).toBe(403);
    // The documented read-only set includes Directory.ReadWrite.All, which Graph accepts for membership writes.
    const roMember = await graph(emu, ro, `/groups/${g.id}/members/$ref`, { method: 'POST', body: ref(u.id) });
    expect(roMember.status).toBe(204);
    const roleGroup = ex.groups.find((x) => x['isAssignableToRole'] === true) as TenantExport['groups'][number];
    const v = ex.users.find((x) => !roleGroup.members.includes(String(x['id']))) as Json & { id: string };
    expect((await graph(emu, ro, `/groups/${roleGroup.id}/members/$ref`, { method: 'POST', body: ref(v.id) })).status).toBe(403);
    expect((await graph(emu, prov, `/groups/${roleGroup.id}/members/$ref`, { method: 'POST', body: ref(v.id) })).status).toBe(204);
  });

  it('shows writes in the next delta round', async () => {
    const start = await graph(emu, prov, '/groups/delta?$deltatoken=latest&$select=displayName,members,owners');
    const g = fresh().groups.find((x) => x['isAssignableToRole'] !== true) as TenantExport['groups'][number];
    const u = ex.users.find((x) => x['userType'] === 'Member' && !g.owners.includes(String(x['id']))) as Json & { id: string };
    expect((await graph(emu, prov, `/groups/${g.id}/owners/$ref`, { method: 'POST', body: ref(u.id) })).status).toBe(204);
    const r = await graph(emu, prov, start.body['@odata.deltaLink'] as string);
    expect(r.body['value']).toEqual([
      { displayName: g['displayName'], id: g.id, 'owners@delta': [{ '@odata.type': '#microsoft.graph.user', id: u.id }] },
    ]);
  });
});
