import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisioningTaskUpdated } from '@warden/bus';
import { detailsContain } from './support/audit';
import { createHarness, waitFor, type Harness } from './support/harness';
import { membershipClosure } from './support/seed';
import {
  appRoleAssignment,
  eligibility,
  enterpriseApps,
  group,
  pickUser,
  roleAssignment,
  scopedRoleAssignment,
  writableGroups,
} from './support/tenant';

const DEFAULT_ACCESS = '00000000-0000-0000-0000-000000000000';
let h: Harness;
const events: ProvisioningTaskUpdated[] = [];
let metricsUrl: string | null = null;

beforeAll(async () => {
  h = await createHarness();
  h.tbus.bus.subscribeProvisioningTaskUpdated('*', (e) => events.push(e));
  metricsUrl = (await h.startWorker({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' })).metricsUrl;
});
afterAll(async () => {
  await h?.close();
});

async function run(input: Parameters<Harness['request']>[0]) {
  const task = await h.request(input);
  return h.waitForTask(task.id);
}

async function directGrant(key: string, principal: string) {
  return h.tdb.db
    .selectFrom('grants')
    .selectAll()
    .where('connector_id', '=', h.connectorId)
    .where('entitlement_key', '=', key)
    .where('principal_external_id', '=', principal)
    .where('direct', '=', true)
    .executeTakeFirst();
}

async function inheritedRows() {
  const rows = await h.tdb.db
    .selectFrom('grants')
    .select(['principal_external_id', 'entitlement_key', 'via'])
    .where('connector_id', '=', h.connectorId)
    .where('direct', '=', false)
    .execute();
  return rows.map((r) => `${r.principal_external_id} ${r.entitlement_key} ${r.via.join(',')}`).sort();
}

function expectedInherited() {
  const t = h.emulator.exportTenant();
  // devices and org contacts are members of groups but not principals of the model
  const principals = new Set([...t.users, ...t.groups, ...t.servicePrincipals].map((o) => String(o.id)));
  return membershipClosure(t)
    .filter(([p]) => principals.has(p))
    .map(([p, g, via]) => `${p} GROUP:${g}:member ${via.join(',')}`)
    .sort();
}

describe('group membership', () => {
  it('grants and revokes a user, publishing PENDING, RUNNING, SUCCEEDED and auditing request and outcome', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[0]!;
    const user = pickUser(t, g.members);
    const key = `GROUP:${g.id}:member`;

    const granted = await run({ action: 'GRANT', entitlementKey: key, principal: user, reason: 'project X' });
    expect(granted.status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), g.id).members).toContain(user);
    expect(await directGrant(key, user)).toMatchObject({ principal_kind: 'USER', source: 'provisioning' });
    // The final event is published after the commit the test just read, and may still be on its way.
    await waitFor('the SUCCEEDED event', async () => events.some((e) => e.taskId === granted.id && e.status === 'SUCCEEDED'));
    const statuses = events.filter((e) => e.taskId === granted.id).map((e) => e.status);
    expect(statuses).toEqual(['PENDING', 'RUNNING', 'SUCCEEDED']);
    const audit = await h.tdb.db
      .selectFrom('audit_events')
      .selectAll()
      .where(detailsContain({ taskId: granted.id }))
      .orderBy('id')
      .execute();
    expect(audit.map((a) => [a.actor, a.action])).toEqual([
      ['alice', 'grant.requested'],
      ['alice', 'grant.succeeded'],
    ]);
    expect(audit[0]!.details).toMatchObject({ reason: 'project X', entitlementKey: key, principalExternalId: user });
    expect(audit[1]!.details).toMatchObject({ effect: 'applied', graphRequestId: expect.any(String) });
    expect(granted.graph_request_id).toBe((audit[1]!.details as { graphRequestId: string }).graphRequestId);

    const revoked = await run({ action: 'REVOKE', entitlementKey: key, principal: user });
    expect(revoked.status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), g.id).members).not.toContain(user);
    expect(await directGrant(key, user)).toBeUndefined();

    // The writes show in the worker's Prometheus metrics, by tenant and route.
    const text = await (await fetch(metricsUrl!)).text();
    const tenant = `tenant="${h.emulator.config.tenantId}"`;
    const line = (route: string) =>
      text.split('\n').find((l) => l.startsWith('warden_graph_requests_total{') && l.includes(tenant) && l.includes(`route="${route}"`));
    expect(Number(line('POST /groups/{id}/members/$ref')?.split(' ').at(-1))).toBeGreaterThanOrEqual(1);
    expect(Number(line('DELETE /groups/{id}/members/{id}/$ref')?.split(' ').at(-1))).toBeGreaterThanOrEqual(1);
    expect(text).toContain('warden_provision_worker_process_cpu_seconds_total');
  });

  it('keeps inherited grants equal to the nesting closure when groups and users join and leave nested groups', async () => {
    const t = h.emulator.exportTenant();
    const [outer, inner] = writableGroups(t, { unified: false }).slice(1, 3);
    const user = pickUser(t, [...outer!.members, ...inner!.members]);
    expect(await inheritedRows()).toEqual(expectedInherited());

    // inner joins outer: inner's members (and their nested members) inherit outer and outer's parents
    expect((await run({ action: 'GRANT', entitlementKey: `GROUP:${outer!.id}:member`, principal: inner!.id })).status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), outer!.id).members).toContain(inner!.id);
    expect(await inheritedRows()).toEqual(expectedInherited());

    // a user joins inner: inherits outer through inner
    expect((await run({ action: 'GRANT', entitlementKey: `GROUP:${inner!.id}:member`, principal: user })).status).toBe('SUCCEEDED');
    const rows = await inheritedRows();
    expect(rows).toContain(`${user} GROUP:${outer!.id}:member GROUP:${inner!.id}:member`);
    expect(rows).toEqual(expectedInherited());

    // inner leaves outer: the user's inherited membership goes with it
    expect((await run({ action: 'REVOKE', entitlementKey: `GROUP:${outer!.id}:member`, principal: inner!.id })).status).toBe('SUCCEEDED');
    expect(await inheritedRows()).not.toContain(`${user} GROUP:${outer!.id}:member GROUP:${inner!.id}:member`);
    expect(await inheritedRows()).toEqual(expectedInherited());
    expect((await run({ action: 'REVOKE', entitlementKey: `GROUP:${inner!.id}:member`, principal: user })).status).toBe('SUCCEEDED');
    expect(await inheritedRows()).toEqual(expectedInherited());
  });

  it('treats a duplicate grant and the revoke of a non-held grant as success without a second effect', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false }).find((x) => x.members.some((m) => t.users.some((u) => u.id === m)))!;
    const member = g.members.find((m) => t.users.some((u) => u.id === m))!;
    const outsider = pickUser(t, g.members, 3);
    const key = `GROUP:${g.id}:member`;
    const before = h.emulator.exportTenant();

    const dup = await run({ action: 'GRANT', entitlementKey: key, principal: member });
    expect(dup.status).toBe('SUCCEEDED');
    const notHeld = await run({ action: 'REVOKE', entitlementKey: key, principal: outsider });
    expect(notHeld.status).toBe('SUCCEEDED');

    expect(group(h.emulator.exportTenant(), g.id).members).toEqual(group(before, g.id).members);
    const outcomes = await h.tdb.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', 'in', ['grant.succeeded', 'revoke.succeeded'])
      .where((eb) => eb.or([detailsContain({ taskId: dup.id }), detailsContain({ taskId: notHeld.id })]))
      .execute();
    expect(outcomes.map((o) => (o.details as { effect: string }).effect)).toEqual(['unchanged', 'unchanged']);
    expect(await directGrant(key, member)).toBeDefined();
    expect(await directGrant(key, outsider)).toBeUndefined();
  });

  it('returns the same task for the same idempotency key and changes nothing the second time', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[3]!;
    const user = pickUser(t, g.members, 5);
    const key = `GROUP:${g.id}:member`;
    const first = await h.request({ action: 'GRANT', entitlementKey: key, principal: user, idempotencyKey: 'same-key-1' });
    const second = await h.request({ action: 'GRANT', entitlementKey: key, principal: user, idempotencyKey: 'same-key-1' });
    expect(second.id).toBe(first.id);
    expect((await h.waitForTask(first.id)).status).toBe('SUCCEEDED');
    const third = await h.request({ action: 'GRANT', entitlementKey: key, principal: user, idempotencyKey: 'same-key-1' });
    expect(third).toMatchObject({ id: first.id, status: 'SUCCEEDED' });
    const rows = await h.tdb.db.selectFrom('provisioning_tasks').select('id').where('idempotency_key', '=', 'same-key-1').execute();
    expect(rows).toHaveLength(1);
    const requested = await h.tdb.db
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', 'grant.requested')
      .where(detailsContain({ taskId: first.id }))
      .execute();
    expect(requested).toHaveLength(1);
    await expect(h.request({ action: 'REVOKE', entitlementKey: key, principal: user, idempotencyKey: 'same-key-1' })).rejects.toMatchObject(
      { code: 'CONFLICT' },
    );
  });
});

describe('group ownership', () => {
  it('grants and revokes an owner', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t).find((x) => x.owners.length > 0)!;
    const user = pickUser(t, g.owners, 7);
    const key = `GROUP:${g.id}:owner`;
    expect((await run({ action: 'GRANT', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), g.id).owners).toContain(user);
    expect(await directGrant(key, user)).toBeDefined();
    expect((await run({ action: 'REVOKE', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(group(h.emulator.exportTenant(), g.id).owners).not.toContain(user);
    expect(await directGrant(key, user)).toBeUndefined();
  });
});

describe('enterprise applications', () => {
  it('assigns and removes an app role, keeping the assignment id for the revoke', async () => {
    const t = h.emulator.exportTenant();
    const app = enterpriseApps(t).find((a) =>
      ((a.appRoles as { allowedMemberTypes: string[] }[]) ?? []).some((r) => r.allowedMemberTypes.includes('User')),
    )!;
    const role = (app.appRoles as { id: string; value: string; allowedMemberTypes: string[] }[]).find((r) =>
      r.allowedMemberTypes.includes('User'),
    )!;
    const appId = String(app.id);
    const user = pickUser(
      t,
      (t.appRoleAssignments as { resourceId: string; principalId: string }[])
        .filter((a) => a.resourceId === appId)
        .map((a) => a.principalId),
      2,
    );
    const key = `ENTERPRISE_APPLICATION:${appId}:${role.value}`;

    const granted = await run({ action: 'GRANT', entitlementKey: key, principal: user });
    expect(granted.status).toBe('SUCCEEDED');
    const assignment = appRoleAssignment(h.emulator.exportTenant(), appId, user, role.id);
    expect(assignment).toBeDefined();
    expect(await directGrant(key, user)).toMatchObject({ graph_assignment_id: assignment!.id });
    expect(granted.graph_assignment_id).toBe(assignment!.id);

    expect((await run({ action: 'REVOKE', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(appRoleAssignment(h.emulator.exportTenant(), appId, user, role.id)).toBeUndefined();
    expect(await directGrant(key, user)).toBeUndefined();
  });

  it('assigns default access (assigned) to a group and an app owner to a user', async () => {
    const t = h.emulator.exportTenant();
    const app = enterpriseApps(t)[1]!;
    const appId = String(app.id);
    const g = writableGroups(t, { unified: false })[4]!;
    const assigned = `ENTERPRISE_APPLICATION:${appId}:assigned`;
    expect((await run({ action: 'GRANT', entitlementKey: assigned, principal: g.id })).status).toBe('SUCCEEDED');
    expect(appRoleAssignment(h.emulator.exportTenant(), appId, g.id, DEFAULT_ACCESS)).toMatchObject({ principalType: 'Group' });
    expect(await directGrant(assigned, g.id)).toMatchObject({ principal_kind: 'GROUP' });

    const owner = pickUser(t, (app.owners as string[]) ?? [], 11);
    const ownerKey = `ENTERPRISE_APPLICATION:${appId}:owner`;
    expect((await run({ action: 'GRANT', entitlementKey: ownerKey, principal: owner })).status).toBe('SUCCEEDED');
    expect(h.emulator.exportTenant().servicePrincipalOwners).toContainEqual({ servicePrincipalId: appId, ownerId: owner });
    expect(await directGrant(ownerKey, owner)).toBeDefined();

    expect((await run({ action: 'REVOKE', entitlementKey: assigned, principal: g.id })).status).toBe('SUCCEEDED');
    expect((await run({ action: 'REVOKE', entitlementKey: ownerKey, principal: owner })).status).toBe('SUCCEEDED');
    const after = h.emulator.exportTenant();
    expect(appRoleAssignment(after, appId, g.id, DEFAULT_ACCESS)).toBeUndefined();
    expect(after.servicePrincipalOwners).not.toContainEqual({ servicePrincipalId: appId, ownerId: owner });
    expect(await directGrant(assigned, g.id)).toBeUndefined();
    expect(await directGrant(ownerKey, owner)).toBeUndefined();
  });
});

describe('directory roles', () => {
  it('creates and removes an active role assignment', async () => {
    const t = h.emulator.exportTenant();
    const role = String((t.roleDefinitions[0] as { id: string }).id);
    const user = pickUser(
      t,
      (t.roleAssignments as { principalId: string }[]).map((a) => a.principalId),
      13,
    );
    const key = `DIRECTORY_ROLE:${role}:assigned`;
    expect((await run({ action: 'GRANT', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    const ra = roleAssignment(h.emulator.exportTenant(), role, user);
    expect(ra).toBeDefined();
    expect(await directGrant(key, user)).toMatchObject({ graph_assignment_id: ra!.id });
    expect((await run({ action: 'REVOKE', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(roleAssignment(h.emulator.exportTenant(), role, user)).toBeUndefined();
    expect(await directGrant(key, user)).toBeUndefined();
  });

  it('assigns a role over an administrative unit (directoryScopeId) and revokes it by the assignment id', async () => {
    const t = h.emulator.exportTenant();
    const userAdmin = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
    const au = (t.administrativeUnits as { id: string; displayName: string }[])[0]!;
    const scope = `/administrativeUnits/${au.id}`;
    const user = pickUser(
      t,
      (t.roleAssignments as { principalId: string }[]).map((a) => a.principalId),
      21,
    );
    const key = `DIRECTORY_ROLE:${userAdmin}:assigned@${scope}`;
    const ent = await h.tdb.db.selectFrom('entitlements').select('display_name').where('key', '=', key).executeTakeFirstOrThrow();
    expect(ent.display_name).toBe(`User Administrator (administrative unit: ${au.displayName})`);

    expect((await run({ action: 'GRANT', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    const ra = scopedRoleAssignment(h.emulator.exportTenant(), userAdmin, user, scope);
    expect(ra).toBeDefined();
    expect(roleAssignment(h.emulator.exportTenant(), userAdmin, user)).toBeUndefined(); // not tenant-wide
    expect(await directGrant(key, user)).toMatchObject({ graph_assignment_id: ra!.id });
    expect(await directGrant(`DIRECTORY_ROLE:${userAdmin}:assigned`, user)).toBeUndefined();
    // Granting again is idempotent (the emulator answers "conflicting object"; the probe finds the scoped one).
    expect((await run({ action: 'GRANT', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(await directGrant(key, user)).toMatchObject({ graph_assignment_id: ra!.id });

    expect((await run({ action: 'REVOKE', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(scopedRoleAssignment(h.emulator.exportTenant(), userAdmin, user, scope)).toBeUndefined();
    expect(await directGrant(key, user)).toBeUndefined();
  });

  it('assigns a role over one app registration (directoryScopeId /<application id>) and revokes it by the assignment id', async () => {
    const t = h.emulator.exportTenant();
    const apps = new Map((t.applications as { id: string; displayName: string }[]).map((a) => [`/${a.id}`, a.displayName]));
    // Only held (role, application) pairs are entitlements: take one the tenant already has.
    const held = (t.roleAssignments as { roleDefinitionId: string; directoryScopeId: string; principalId: string }[]).find((a) =>
      apps.has(a.directoryScopeId),
    )!;
    const role = held.roleDefinitionId;
    const scope = held.directoryScopeId;
    const user = pickUser(
      t,
      (t.roleAssignments as { principalId: string }[]).map((a) => a.principalId),
      23,
    );
    const key = `DIRECTORY_ROLE:${role}:assigned@${scope}`;
    const ent = await h.tdb.db.selectFrom('entitlements').select('display_name').where('key', '=', key).executeTakeFirstOrThrow();
    expect(ent.display_name).toMatch(new RegExp(`\\(application: ${apps.get(scope)!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));

    expect((await run({ action: 'GRANT', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    const ra = scopedRoleAssignment(h.emulator.exportTenant(), role, user, scope);
    expect(ra).toBeDefined();
    expect(roleAssignment(h.emulator.exportTenant(), role, user)).toBeUndefined(); // not tenant-wide
    expect(await directGrant(key, user)).toMatchObject({ graph_assignment_id: ra!.id });
    expect((await run({ action: 'GRANT', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(await directGrant(key, user)).toMatchObject({ graph_assignment_id: ra!.id });

    expect((await run({ action: 'REVOKE', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(scopedRoleAssignment(h.emulator.exportTenant(), role, user, scope)).toBeUndefined();
    expect(await directGrant(key, user)).toBeUndefined();
  });

  it('refuses a role Graph does not allow over an administrative unit, before any Graph call', async () => {
    const t = h.emulator.exportTenant();
    const globalAdmin = '62e90394-69f5-4237-9190-012177145e10';
    const au = (t.administrativeUnits as { id: string }[])[0]!;
    const user = pickUser(t, [], 22);
    await expect(
      h.request({
        action: 'GRANT',
        entitlementKey: `DIRECTORY_ROLE:${globalAdmin}:assigned@/administrativeUnits/${au.id}`,
        principal: user,
      }),
    ).rejects.toThrow(/does not allow this role at the scope/);
  });

  it('makes a user eligible with the grant expiry as the schedule end, and removes it', async () => {
    const t = h.emulator.exportTenant();
    const role = String((t.roleDefinitions[1] as { id: string }).id);
    const user = pickUser(
      t,
      (t.roleEligibilitySchedules as { principalId: string }[]).map((a) => a.principalId),
      17,
    );
    const key = `DIRECTORY_ROLE:${role}:eligible`;
    const expiresAt = new Date(Date.now() + 3_600_000);
    expect((await run({ action: 'GRANT', entitlementKey: key, principal: user, expiresAt })).status).toBe('SUCCEEDED');
    const schedule = eligibility(h.emulator.exportTenant(), role, user) as
      { id: string; scheduleInfo: { expiration: { type: string; endDateTime: string } } } | undefined;
    expect(schedule?.scheduleInfo.expiration.type).toBe('afterDateTime');
    expect(new Date(schedule!.scheduleInfo.expiration.endDateTime).getTime()).toBe(expiresAt.getTime());
    const row = await directGrant(key, user);
    expect(row?.expires_at?.getTime()).toBe(expiresAt.getTime());
    expect(row?.graph_assignment_id).toBe(schedule!.id);

    expect((await run({ action: 'REVOKE', entitlementKey: key, principal: user })).status).toBe('SUCCEEDED');
    expect(eligibility(h.emulator.exportTenant(), role, user)).toBeUndefined();
    expect(await directGrant(key, user)).toBeUndefined();

    const permanent = pickUser(
      t,
      (t.roleEligibilitySchedules as { principalId: string }[]).map((a) => a.principalId),
      18,
    );
    expect((await run({ action: 'GRANT', entitlementKey: key, principal: permanent })).status).toBe('SUCCEEDED');
    expect(
      (eligibility(h.emulator.exportTenant(), role, permanent) as { scheduleInfo: { expiration: { type: string } } }).scheduleInfo
        .expiration.type,
    ).toBe('noExpiration');
  });
});

describe('ordering', () => {
  it('applies grant, revoke, grant of the same pair in request order', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[5]!;
    const user = pickUser(t, g.members, 19);
    const key = `GROUP:${g.id}:member`;
    const a = await h.request({ action: 'GRANT', entitlementKey: key, principal: user });
    const b = await h.request({ action: 'REVOKE', entitlementKey: key, principal: user });
    const c = await h.request({ action: 'GRANT', entitlementKey: key, principal: user });
    const done = await Promise.all([a, b, c].map((x) => h.waitForTask(x.id)));
    expect(done.map((d) => d.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const times = done.map((d) => d.completed_at!.getTime());
    expect(times[0]).toBeLessThanOrEqual(times[1]!);
    expect(times[1]).toBeLessThanOrEqual(times[2]!);
    expect(done[1]!.started_at!.getTime()).toBeGreaterThanOrEqual(times[0]!);
    expect(group(h.emulator.exportTenant(), g.id).members).toContain(user);
    expect(await directGrant(key, user)).toBeDefined();
  });
});
