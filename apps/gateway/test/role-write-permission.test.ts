import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entitlementKey } from '@warden/database';
import { seedTenant, gid, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';
import { PROVISIONING_PERMISSIONS } from '@warden/graph-core';

// The gateway and the provision worker ask one rule (@warden/access-model's registry) for what a
// write needs beyond the provisioning set: the role-write permission for directory roles and for
// membership of role-assignable groups. Before, the gateway asked only for directory roles and
// queued tasks the worker then failed.

let h: Harness;
let f: Fixture;
let owner: string;
let roleAssignableMember: string;

const GRANT = 'mutation($i: GrantInput!) { grant(input: $i) { id status action } }';
const ROLE_WRITE = 'RoleManagement.ReadWrite.Directory';
const PROVISIONING_ONLY = [...PROVISIONING_PERMISSIONS];

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db, { owners: ['alice'] });
  owner = await h.token('CONNECTOR_ADMIN', 'alice');
  const group = gid('b', 9);
  await h.db
    .insertInto('resources')
    .values({
      connector_id: f.connectorId,
      type: 'GROUP',
      external_id: group,
      display_name: 'Tier 0 admins',
      profile: JSON.stringify({ isAssignableToRole: true }),
      search_text: 'tier 0 admins',
    })
    .execute();
  const e = await h.db
    .insertInto('entitlements')
    .values({
      connector_id: f.connectorId,
      key: entitlementKey('GROUP', group, 'member'),
      resource_external_id: group,
      resource_type: 'GROUP',
      slug: 'member',
      display_name: 'Member of Tier 0 admins',
      grantable: true,
      metadata: JSON.stringify({ unifiedGroup: false, roleAssignable: true }),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  roleAssignableMember = e.id;
});
afterAll(async () => {
  await h?.close();
});

const setGranted = (granted: string[]) =>
  h.db.updateTable('connectors').set({ granted_permissions: granted }).where('id', '=', f.connectorId).execute();
const tasksFor = (key: string) =>
  h.db.selectFrom('provisioning_tasks').select('id').where('connector_id', '=', f.connectorId).where('entitlement_key', '=', key).execute();

describe('the role-write permission, asked by the gateway as the provision worker asks it', () => {
  it('refuses membership of a role-assignable group with FORBIDDEN when the role-write permission is missing, and queues nothing', async () => {
    await setGranted(PROVISIONING_ONLY);
    const r = await h.gql(owner, GRANT, { i: { entitlementId: roleAssignableMember, principalId: f.users[1]!.id } });
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(r.errors?.[0]?.message).toContain(ROLE_WRITE);
    expect(await tasksFor(entitlementKey('GROUP', gid('b', 9), 'member'))).toHaveLength(0);
  });

  it('still refuses directory roles without it, and still accepts ordinary group membership', async () => {
    await setGranted(PROVISIONING_ONLY);
    const role = await h.gql(owner, GRANT, { i: { entitlementId: f.role.assignedEntitlementId, principalId: f.users[1]!.id } });
    expect(role.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(role.errors?.[0]?.message).toContain(ROLE_WRITE);
    const ordinary = await h.gql<{ grant: { status: string } }>(owner, GRANT, {
      i: { entitlementId: f.bigGroup.memberEntitlementId, principalId: f.users[2]!.id },
    });
    expect(ordinary.errors).toBeUndefined();
    expect(ordinary.data!.grant.status).toBe('PENDING');
  });

  it('treats a role over an administrative unit like the role: FORBIDDEN without role-write, queued with it; refused where Graph does not allow the role', async () => {
    const scope = `/administrativeUnits/${gid('a', 1)}`;
    const insert = (slug: string, name: string, scopeAllowed: boolean) =>
      h.db
        .insertInto('entitlements')
        .values({
          connector_id: f.connectorId,
          key: entitlementKey('DIRECTORY_ROLE', gid('d', 1), slug),
          resource_external_id: gid('d', 1),
          resource_type: 'DIRECTORY_ROLE',
          slug,
          display_name: name,
          grantable: true,
          metadata: JSON.stringify({ directoryScopeId: scope, scopeType: 'administrativeUnit', scopeDisplayName: 'Sales', scopeAllowed }),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    const scoped = await insert(`assigned@${scope}`, 'User Administrator (administrative unit: Sales)', true);
    await setGranted(PROVISIONING_ONLY);
    const refused = await h.gql(owner, GRANT, { i: { entitlementId: scoped.id, principalId: f.users[3]!.id } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toContain(ROLE_WRITE);
    await setGranted([...PROVISIONING_ONLY, ROLE_WRITE]);
    const ok = await h.gql<{ grant: { status: string } }>(owner, GRANT, { i: { entitlementId: scoped.id, principalId: f.users[3]!.id } });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.grant.status).toBe('PENDING');

    await h.db
      .updateTable('entitlements')
      .set({ metadata: JSON.stringify({ directoryScopeId: scope, scopeAllowed: false }) })
      .where('id', '=', scoped.id)
      .execute();
    const notAllowed = await h.gql(owner, GRANT, { i: { entitlementId: scoped.id, principalId: f.users[4]!.id } });
    expect(notAllowed.errors?.[0]?.message).toMatch(/does not allow this role at the scope/);
  });

  it('accepts membership of a role-assignable group once the role-write permission is granted', async () => {
    await setGranted([...PROVISIONING_ONLY, ROLE_WRITE]);
    const r = await h.gql<{ grant: { status: string; action: string } }>(owner, GRANT, {
      i: { entitlementId: roleAssignableMember, principalId: f.users[1]!.id },
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.grant).toMatchObject({ status: 'PENDING', action: 'GRANT' });
  });
});
