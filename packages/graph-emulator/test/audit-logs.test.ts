import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change, JsonObject, RunningEmulator, TenantExport } from '../src/index';
import { getToken, graph, start, type Json } from './helpers';

interface Audit {
  id: string;
  category: string;
  activityDisplayName: string;
  activityDateTime: string;
  loggedByService: string;
  operationType: string;
  result: string;
  initiatedBy: { user: { id: string; userPrincipalName: string } | null; app: { appId: string; servicePrincipalId: string } | null };
  targetResources: {
    id: string;
    type: string;
    displayName: string | null;
    userPrincipalName: string | null;
    modifiedProperties: { displayName: string; oldValue: string | null; newValue: string | null }[];
  }[];
}

const AUDITS = '/auditLogs/directoryAudits';
const ref = (id: string) => JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
const values = (b: Json) => b['value'] as Audit[];
const q = (filter: string) => `${AUDITS}?$filter=${encodeURIComponent(filter)}`;

describe('directory audits', () => {
  let emu: RunningEmulator;
  let prov: string;
  let ex: TenantExport;

  /** Every page of a listing, following nextLinks. */
  async function all(path: string, token = prov): Promise<Audit[]> {
    const out: Audit[] = [];
    let next: string | undefined = path;
    while (next) {
      const r = await graph(emu, token, next);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      out.push(...values(r.body));
      next = r.body['@odata.nextLink'] as string | undefined;
    }
    return out;
  }

  beforeAll(async () => {
    emu = await start({ settings: { throttle: { enabled: false, ruPer10s: 5000, writesPer150s: 3000 } } });
    prov = await getToken(emu, 'provisioning');
    ex = emu.exportTenant();
  });
  afterAll(() => emu.close());

  it('a generated tenant has no history; a Graph app role assignment is audited as Graph documents it, initiated by the app', async () => {
    expect(emu.auditLog()).toHaveLength(0);
    const sp = ex.servicePrincipals.find(
      (s) =>
        s['servicePrincipalType'] === 'Application' &&
        ((s['appRoles'] as JsonObject[]) ?? []).some((r) => (r['allowedMemberTypes'] as string[]).includes('User')),
    ) as TenantExport['servicePrincipals'][number];
    const role = (sp['appRoles'] as JsonObject[]).find((r) => (r['allowedMemberTypes'] as string[]).includes('User')) as JsonObject;
    const held = new Set(ex.appRoleAssignments.filter((a) => a['resourceId'] === sp.id).map((a) => a['principalId']));
    const user = ex.users.find((u) => !held.has(u['id'])) as Json & { id: string };
    const created = await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo`, {
      method: 'POST',
      body: JSON.stringify({ principalId: user.id, resourceId: sp.id, appRoleId: role['id'] }),
    });
    expect(created.status).toBe(201);
    const assignmentId = created.body['id'] as string;

    const list = await graph(emu, prov, AUDITS);
    expect(list.status).toBe(200);
    expect(list.body['@odata.context']).toBe(`${emu.config.baseUrl}/v1.0/$metadata#auditLogs/directoryAudits`);
    const [a] = values(list.body);
    expect(values(list.body)).toHaveLength(1);
    expect(a).toMatchObject({
      category: 'UserManagement',
      activityDisplayName: 'Add app role assignment grant to user',
      loggedByService: 'Core Directory',
      operationType: 'Assign',
      result: 'success',
    });
    expect(a!.activityDateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/);
    expect(a!.initiatedBy.user).toBeNull();
    expect(a!.initiatedBy.app?.appId).toBe(emu.app('provisioning').clientId);
    expect(a!.initiatedBy.app?.servicePrincipalId).toBeTruthy();
    expect(a!.targetResources.map((t) => [t.id, t.type])).toEqual([
      [sp.id, 'ServicePrincipal'],
      [user.id, 'User'],
    ]);
    expect(a!.targetResources[1]!.userPrincipalName).toBe(user['userPrincipalName']);
    const props = Object.fromEntries(a!.targetResources[0]!.modifiedProperties.map((p) => [p.displayName, p.newValue]));
    expect(props['AppRole.Id']).toBe(JSON.stringify(role['id']));
    expect(props['AppRole.Value']).toBe(JSON.stringify(role['value']));
    expect(props['User.ObjectID']).toBe(JSON.stringify(user.id));

    // The single entry by id; then the removal, newest first.
    const one = await graph(emu, prov, `${AUDITS}/${a!.id}`);
    expect(one.status).toBe(200);
    expect(one.body['activityDisplayName']).toBe('Add app role assignment grant to user');
    expect((await graph(emu, prov, `${AUDITS}/Directory_nope`)).status).toBe(404);
    expect((await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo/${assignmentId}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    const after = values((await graph(emu, prov, AUDITS)).body);
    expect(after.map((x) => x.activityDisplayName)).toEqual([
      'Remove app role assignment from user',
      'Add app role assignment grant to user',
    ]);
    expect(after[0]!.operationType).toBe('Unassign');
    // A refused write changes nothing and is not audited.
    const dup = await graph(emu, prov, `/servicePrincipals/${sp.id}/appRoleAssignedTo/${assignmentId}`, { method: 'DELETE' });
    expect(dup.status).toBe(404);
    expect(emu.auditLog()).toHaveLength(2);
  });

  it('writes inside $batch are audited: members, owners, group and service principal; the member target carries the group', async () => {
    const g = ex.groups.find(
      (x) => x['isAssignableToRole'] !== true && !(x['groupTypes'] as string[]).includes('DynamicMembership'),
    ) as TenantExport['groups'][number];
    const u = ex.users.find(
      (x) => !g.members.includes(String(x['id'])) && !g.owners.includes(String(x['id'])) && x['userType'] === 'Member',
    ) as Json & {
      id: string;
    };
    const app = ex.servicePrincipals.find(
      (s) => s['servicePrincipalType'] === 'Application' && !s.owners.includes(u.id),
    ) as TenantExport['servicePrincipals'][number];
    const before = emu.auditLog().length;
    const batch = await graph(emu, prov, '/$batch', {
      method: 'POST',
      body: JSON.stringify({
        requests: [
          {
            id: '1',
            method: 'POST',
            url: `/groups/${g.id}/members/$ref`,
            headers: { 'content-type': 'application/json' },
            body: JSON.parse(ref(u.id)),
          },
          {
            id: '2',
            method: 'POST',
            url: `/groups/${g.id}/owners/$ref`,
            headers: { 'content-type': 'application/json' },
            body: JSON.parse(ref(u.id)),
          },
          {
            id: '3',
            method: 'POST',
            url: `/servicePrincipals/${app.id}/owners/$ref`,
            headers: { 'content-type': 'application/json' },
            body: JSON.parse(ref(u.id)),
          },
        ],
      }),
    });
    expect(batch.status).toBe(200);
    expect((batch.body['responses'] as { status: number }[]).map((r) => r.status)).toEqual([204, 204, 204]);
    const added = emu.auditLog().slice(before) as unknown as Audit[];
    expect(added.map((a) => a.activityDisplayName).sort()).toEqual([
      'Add member to group',
      'Add owner to group',
      'Add owner to service principal',
    ]);
    const member = added.find((a) => a.activityDisplayName === 'Add member to group')!;
    expect(member.category).toBe('GroupManagement');
    expect(member.targetResources.map((t) => [t.id, t.type])).toEqual([
      [u.id, 'User'],
      [g.id, 'Group'],
    ]);
    expect(member.targetResources[0]!.modifiedProperties.find((p) => p.displayName === 'Group.ObjectID')?.newValue).toBe(
      JSON.stringify(g.id),
    );
    const spOwner = added.find((a) => a.activityDisplayName === 'Add owner to service principal')!;
    expect(spOwner.category).toBe('ApplicationManagement');
    expect(spOwner.targetResources.map((t) => t.type)).toEqual(['User', 'ServicePrincipal']);
    expect(spOwner.targetResources[1]!.id).toBe(app.id);
  });

  it('every mutate change is audited by an administrator, with the activity Graph uses for it', async () => {
    const before = emu.auditLog().length;
    const changes: Change[] = emu.mutate(300, 11);
    const added = emu.auditLog().slice(before) as unknown as Audit[];
    const names = (kind: string): number => changes.filter((c) => c.kind === kind).length;
    const count = (...activities: string[]): number => added.filter((a) => activities.includes(a.activityDisplayName)).length;
    expect(
      count('Add app role assignment grant to user', 'Add app role assignment to group', 'Add app role assignment to service principal'),
    ).toBe(names('appRoleAssignmentCreated'));
    expect(
      count(
        'Remove app role assignment from user',
        'Remove app role assignment from group',
        'Remove app role assignment from service principal',
      ),
    ).toBe(names('appRoleAssignmentDeleted'));
    expect(count('Add owner to service principal')).toBe(names('servicePrincipalOwnerAdded'));
    expect(count('Remove owner from service principal')).toBe(names('servicePrincipalOwnerRemoved'));
    // Memberships a deletion takes away are not audited one by one (Graph logs the deletion).
    expect(count('Add member to group')).toBe(names('memberAdded'));
    expect(count('Delete user')).toBe(names('userDeleted'));
    expect(count('Delete group')).toBe(names('groupDeleted'));
    expect(count('Add user')).toBe(names('userCreated'));
    expect(count('Add group')).toBe(names('groupCreated'));
    expect(count('Add member to role', 'Add scoped member to role')).toBe(names('roleAssignmentCreated'));
    expect(count('Add eligible member to role')).toBe(names('roleEligibilityCreated'));
    expect(names('appRoleAssignmentCreated') + names('servicePrincipalOwnerAdded')).toBeGreaterThan(0);
    const admin = ex.users[0] as Json & { id: string };
    for (const a of added) {
      expect(a.initiatedBy.app).toBeNull();
      expect(a.initiatedBy.user?.id).toBe(admin.id);
    }
    // Every app role assignment change names its application as the first target.
    const appIds = new Set(ex.servicePrincipals.map((s) => s.id));
    for (const a of added.filter((x) => /app role assignment/.test(x.activityDisplayName))) {
      expect(a.targetResources[0]!.type).toBe('ServicePrincipal');
      expect(appIds.has(a.targetResources[0]!.id)).toBe(true);
    }
  });

  it('lists newest first, pages with $top and nextLinks (no gaps, no repeats), and orders ascending on request', async () => {
    const total = emu.auditLog().length;
    const pages = await all(`${AUDITS}?$top=37`);
    expect(pages).toHaveLength(total);
    expect(new Set(pages.map((p) => p.id)).size).toBe(total);
    expect(pages.map((p) => p.id)).toEqual(
      emu
        .auditLog()
        .map((e) => e['id'] as string)
        .reverse(),
    );
    for (let i = 1; i < pages.length; i++) expect(pages[i - 1]!.activityDateTime >= pages[i]!.activityDateTime).toBe(true);
    const asc = await all(`${AUDITS}?$top=999&$orderby=activityDateTime asc`);
    expect(asc.map((p) => p.id)).toEqual(pages.map((p) => p.id).reverse());
    expect((await graph(emu, prov, `${AUDITS}?$orderby=category`)).status).toBe(400);
    expect((await graph(emu, prov, `${AUDITS}?$top=1000`)).status).toBe(400);
    const sel = await graph(emu, prov, `${AUDITS}?$top=2&$select=id,activityDisplayName`);
    expect(Object.keys(values(sel.body)[0]!).sort()).toEqual(['activityDisplayName', 'id']);
  });

  it('filters on activityDateTime (ge, le, any precision), activityDisplayName (eq, startswith), category, initiatedBy, and combinations', async () => {
    const log = emu.auditLog() as unknown as Audit[];
    const mid = log[Math.floor(log.length / 2)]!.activityDateTime;
    const ge = await all(q(`activityDateTime ge ${mid}`));
    expect(ge.length).toBe(log.filter((a) => a.activityDateTime >= mid).length);
    const le = await all(q(`activityDateTime le ${mid}`));
    expect(le.length).toBe(log.filter((a) => a.activityDateTime <= mid).length);
    // Milliseconds only, as most clients write them: the same instant.
    const ms = mid.replace(/(\.\d{3})\d{4}Z$/, '$1Z');
    expect((await all(q(`activityDateTime ge ${ms}`))).length).toBe(ge.length);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await all(q(`activityDateTime ge ${future}`))).toHaveLength(0);

    const assignments = log.filter((a) => a.activityDisplayName.startsWith('Add app role assignment'));
    expect(assignments.length).toBeGreaterThan(0);
    expect((await all(q(`startswith(activityDisplayName,'Add app role assignment')`))).length).toBe(assignments.length);
    expect((await all(q(`activityDisplayName eq 'Delete user'`))).length).toBe(
      log.filter((a) => a.activityDisplayName === 'Delete user').length,
    );
    expect((await all(q(`category eq 'ApplicationManagement'`))).length).toBe(
      log.filter((a) => a.category === 'ApplicationManagement').length,
    );
    const appChanges = (a: Audit) =>
      a.activityDisplayName.startsWith('Add app role assignment') ||
      a.activityDisplayName.startsWith('Remove app role assignment') ||
      a.activityDisplayName === 'Add owner to service principal';
    const combined = await all(
      q(
        `activityDateTime ge ${mid} and (startswith(activityDisplayName,'Add app role assignment') or startswith(activityDisplayName,'Remove app role assignment') or activityDisplayName eq 'Add owner to service principal')`,
      ),
    );
    expect(combined.map((a) => a.id).sort()).toEqual(
      log
        .filter((a) => a.activityDateTime >= mid && appChanges(a))
        .map((a) => a.id)
        .sort(),
    );
    const byApp = await all(q(`initiatedBy/app/appId eq '${emu.app('provisioning').clientId}'`));
    expect(byApp.length).toBe(log.filter((a) => a.initiatedBy.app !== null).length);
    expect(byApp.length).toBeGreaterThan(0);

    for (const bad of [
      `activityDateTime gt ${mid}`,
      `activityDisplayName ne 'Add user'`,
      `operationType eq 'Add'`,
      `targetResources/any(t:t eq 'x')`,
      `not (category eq 'UserManagement')`,
    ]) {
      const r = await graph(emu, prov, q(bad));
      expect(r.status, bad).toBe(400);
    }
  });

  it('events show only after the configured latency; the log needs AuditLog.Read.All or Directory.Read.All', async () => {
    emu.updateAuditLogSettings({ latencyMs: 3_600_000 });
    const before = (await all(AUDITS)).length;
    expect(before).toBe(0);
    emu.updateAuditLogSettings({ latencyMs: 0 });
    const visible = (await all(AUDITS)).length;
    expect(visible).toBe(emu.auditLog().length);
    expect(visible).toBeGreaterThan(0);
    // A short latency: entries appear once it has passed (3 s: far longer than one listing on a busy machine).
    emu.updateAuditLogSettings({ latencyMs: 3_000 });
    await expect.poll(async () => (await all(AUDITS)).length, { timeout: 30_000, interval: 200 }).toBe(visible);
    const t0 = Date.now();
    emu.mutate(1, 99);
    expect(emu.auditLog().length).toBeGreaterThan(visible);
    expect((await all(AUDITS)).length).toBe(visible);
    await expect.poll(async () => (await all(AUDITS)).length, { timeout: 30_000, interval: 200 }).toBe(emu.auditLog().length);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3_000);
    emu.updateAuditLogSettings({ latencyMs: 0 });

    const none = await getToken(emu, 'unconsented');
    expect((await graph(emu, none, AUDITS)).status).toBe(403);
    const ro = await getToken(emu, 'readonly');
    expect((await graph(emu, ro, `${AUDITS}?$top=1`)).status).toBe(200);
    // A tenant without P1/P2: Graph refuses the log.
    emu.updateAuditLogSettings({ licensed: false });
    const refused = await graph(emu, ro, `${AUDITS}?$top=1`);
    emu.updateAuditLogSettings({ licensed: true });
    expect(refused.status).toBe(403);
    expect((refused.body['error'] as { code: string }).code).toBe('Authentication_RequestFromNonPremiumTenantOrB2CTenant');
  });

  it("is limited like Graph's reports APIs: 5 requests per 10 s per app, outside the directory's resource units", async () => {
    const ru0 = emu.stats().ruSpent;
    emu.updateSettings({ throttle: { ...emu.settings().throttle, enabled: true } });
    try {
      const ro = await getToken(emu, 'readonly');
      const statuses: number[] = [];
      let retryAfter = '';
      for (let i = 0; i < 6; i++) {
        const r = await graph(emu, ro, `${AUDITS}?$top=1`);
        statuses.push(r.status);
        if (r.status === 429) retryAfter = r.headers.get('retry-after') ?? '';
      }
      // The readonly app's earlier request (previous test) may count in the same 10 s window.
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
      expect(statuses[statuses.length - 1]).toBe(429);
      expect(Number(retryAfter)).toBeGreaterThan(0);
      expect(Number(retryAfter)).toBeLessThanOrEqual(10);
      // Another app has its own window.
      expect((await graph(emu, prov, `${AUDITS}?$top=1`)).status).toBe(200);
      expect(emu.stats().ruSpent).toBe(ru0);
    } finally {
      emu.updateSettings({ throttle: { ...emu.settings().throttle, enabled: false } });
    }
  });
});
