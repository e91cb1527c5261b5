import { entitlementKey, type Database, type PrincipalKind, type ResourceType } from '@warden/database';
import type { Kysely } from 'kysely';
import { DIRECTORY_ROLE_WRITE_PERMISSION } from '@warden/access-model';
import { PROVISIONING_PERMISSIONS } from '@warden/graph-core';

/** Graph-like ids that sort in insertion order, so tests can reason about pages. */
export const gid = (prefix: string, n: number) => `${prefix}${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`;

export interface Fixture {
  connectorId: string;
  users: { id: string; externalId: string; name: string }[];
  bigGroup: { id: string; externalId: string; memberEntitlementId: string; memberKey: string };
  nestedGroup: { id: string; externalId: string; memberKey: string };
  dynamicGroup: { memberEntitlementId: string };
  m365Group: { memberEntitlementId: string; id: string };
  app: { id: string; externalId: string; assignedEntitlementId: string };
  role: { assignedEntitlementId: string };
}

const ALL_PERMISSIONS = [...PROVISIONING_PERMISSIONS, DIRECTORY_ROLE_WRITE_PERMISSION];

/**
 * What a sync would have written for a small tenant: `userCount` users, all members of one big
 * security group; a nested group (member of the big group) whose members inherit; a dynamic group,
 * a Microsoft 365 group, an enterprise app and a directory role.
 */
export async function seedTenant(
  db: Kysely<Database>,
  opts: { owners?: string[]; userCount?: number; name?: string } = {},
): Promise<Fixture> {
  const n = opts.userCount ?? 120;
  const connector = await db
    .insertInto('connectors')
    .values({
      display_name: opts.name ?? 'Contoso',
      tenant_id: '11111111-1111-4111-8111-111111111111',
      client_id: '22222222-2222-4222-8222-222222222222',
      auth_method: 'CLIENT_SECRET',
      status: 'CONNECTED',
      owners: opts.owners ?? ['owner-alice'],
      granted_permissions: ALL_PERMISSIONS,
      missing_permissions: [],
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const c = connector.id;
  const resources: {
    connector_id: string;
    type: ResourceType;
    external_id: string;
    display_name: string;
    profile: string;
    search_text: string;
  }[] = [];
  const users: { externalId: string; name: string }[] = [];
  for (let i = 0; i < n; i++) {
    const externalId = gid('a', i);
    const name = `User ${String(i).padStart(4, '0')}${i % 10 === 0 ? ' Finance' : ''}`;
    const upn = `user${i}@contoso.example`;
    users.push({ externalId, name });
    resources.push({
      connector_id: c,
      type: 'USER',
      external_id: externalId,
      display_name: name,
      profile: JSON.stringify({ userPrincipalName: upn, mail: upn }),
      search_text: `${name} ${upn} ${upn}`.toLowerCase(),
    });
  }
  const big = gid('b', 1);
  const nested = gid('b', 2);
  const dynamic = gid('b', 3);
  const m365 = gid('b', 4);
  const app = gid('c', 1);
  const role = gid('d', 1);
  const add = (type: ResourceType, id: string, name: string, profile: Record<string, unknown>) =>
    resources.push({
      connector_id: c,
      type,
      external_id: id,
      display_name: name,
      profile: JSON.stringify(profile),
      search_text: name.toLowerCase(),
    });
  add('GROUP', big, 'All staff', { groupType: 'security' });
  add('GROUP', nested, 'Finance team', { groupType: 'security' });
  add('GROUP', dynamic, 'Dynamic sales', { groupType: 'dynamic' });
  add('GROUP', m365, 'Project Apollo', { groupType: 'microsoft365', groupTypes: ['Unified'] });
  add('ENTERPRISE_APPLICATION', app, 'Payroll', { appId: 'x' });
  add('DIRECTORY_ROLE', role, 'User Administrator', { isBuiltIn: true });
  const rs = await db.insertInto('resources').values(resources).returning(['id', 'external_id']).execute();
  const rid = new Map(rs.map((r) => [r.external_id, r.id]));

  const ent = (type: ResourceType, ext: string, slug: string, name: string, grantable = true, metadata: Record<string, unknown> = {}) => ({
    connector_id: c,
    key: entitlementKey(type, ext, slug),
    resource_external_id: ext,
    resource_type: type,
    slug,
    display_name: name,
    grantable,
    metadata: JSON.stringify(metadata),
  });
  const es = await db
    .insertInto('entitlements')
    .values([
      ent('GROUP', big, 'member', 'Member of All staff', true, { unifiedGroup: false }),
      ent('GROUP', big, 'owner', 'Owner of All staff'),
      ent('GROUP', nested, 'member', 'Member of Finance team', true, { unifiedGroup: false }),
      ent('GROUP', dynamic, 'member', 'Member of Dynamic sales', false),
      ent('GROUP', m365, 'member', 'Member of Project Apollo', true, { unifiedGroup: true }),
      ent('ENTERPRISE_APPLICATION', app, 'assigned', 'Assigned to Payroll', true, { allowedMemberTypes: ['User'] }),
      ent('DIRECTORY_ROLE', role, 'assigned', 'User Administrator (active)'),
    ])
    .returning(['id', 'key'])
    .execute();
  const eid = new Map(es.map((e) => [e.key, e.id]));
  const bigMember = entitlementKey('GROUP', big, 'member');
  const nestedMember = entitlementKey('GROUP', nested, 'member');

  const grants = users.map((u) => ({
    connector_id: c,
    entitlement_key: bigMember,
    principal_external_id: u.externalId,
    principal_kind: 'USER' as PrincipalKind,
    direct: true,
    via: [] as string[],
  }));
  grants.push({
    connector_id: c,
    entitlement_key: bigMember,
    principal_external_id: nested,
    principal_kind: 'GROUP',
    direct: true,
    via: [],
  });
  // Users 0..9 are direct members of the nested group, so they also inherit the big group (and
  // already hold it directly: the inherited rows must stay hidden); users 10..14 only inherit.
  for (let i = 0; i < 15; i++) {
    if (i < 10)
      grants.push({
        connector_id: c,
        entitlement_key: nestedMember,
        principal_external_id: users[i]!.externalId,
        principal_kind: 'USER',
        direct: true,
        via: [],
      });
    grants.push({
      connector_id: c,
      entitlement_key: bigMember,
      principal_external_id: users[i]!.externalId,
      principal_kind: 'USER',
      direct: false,
      via: [bigMember, nestedMember],
    });
  }
  // Users 10..14 are not direct members of the big group in this story: remove their direct rows.
  const onlyInherited = new Set(users.slice(10, 15).map((u) => u.externalId));
  const filtered = grants.filter((g) => !(g.direct && g.entitlement_key === bigMember && onlyInherited.has(g.principal_external_id)));
  for (let i = 10; i < 15; i++)
    filtered.push({
      connector_id: c,
      entitlement_key: nestedMember,
      principal_external_id: users[i]!.externalId,
      principal_kind: 'USER',
      direct: true,
      via: [],
    });
  await db.insertInto('grants').values(filtered).execute();

  return {
    connectorId: c,
    users: users.map((u) => ({ ...u, id: rid.get(u.externalId)! })),
    bigGroup: { id: rid.get(big)!, externalId: big, memberEntitlementId: eid.get(bigMember)!, memberKey: bigMember },
    nestedGroup: { id: rid.get(nested)!, externalId: nested, memberKey: nestedMember },
    dynamicGroup: { memberEntitlementId: eid.get(entitlementKey('GROUP', dynamic, 'member'))! },
    m365Group: { memberEntitlementId: eid.get(entitlementKey('GROUP', m365, 'member'))!, id: rid.get(m365)! },
    app: { id: rid.get(app)!, externalId: app, assignedEntitlementId: eid.get(entitlementKey('ENTERPRISE_APPLICATION', app, 'assigned'))! },
    role: { assignedEntitlementId: eid.get(entitlementKey('DIRECTORY_ROLE', role, 'assigned'))! },
  };
}
