import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

/** The request catalog (`requestableEntitlements`): policies decide what is offered, and to whom. */
let h: Harness;
let f: Fixture;
let other: Fixture;
const TENANT = '11111111-1111-4111-8111-111111111111';

const Q = `query($search: String, $first: Int) { requestableEntitlements(search: $search, first: $first) {
  entitlement { id displayName } connector { id displayName } maxDurationSeconds requireDuration approvalSteps } }`;
type A = {
  requestableEntitlements: {
    entitlement: { id: string; displayName: string };
    connector: { id: string };
    maxDurationSeconds: number | null;
    requireDuration: boolean;
    approvalSteps: number;
  }[];
};

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db, { userCount: 20 });
  other = await seedTenant(h.db, { userCount: 20, name: 'Other' });
  await h.db
    .updateTable('connectors')
    .set({ tenant_id: '99999999-9999-4999-8999-999999999999' })
    .where('id', '=', other.connectorId)
    .execute();
  const admin = await h.token('SUPER_ADMIN', 'root');
  const set = `mutation($input: AccessPolicyInput!) { setAccessPolicy(input: $input) { id } }`;
  // Default of both connectors: requestable, one MANAGER step, at most a day, a duration required.
  for (const c of [f.connectorId, other.connectorId]) {
    const r = await h.gql(admin, set, {
      input: {
        connectorId: c,
        requestable: true,
        steps: [{ kind: 'MANAGER', subjects: ['root'] }],
        maxDurationSeconds: 86_400,
        requireDuration: true,
      },
    });
    expect(r.errors).toBeUndefined();
  }
  // The big group's membership has its own policy: not requestable.
  const own = await h.gql(admin, set, {
    input: { connectorId: f.connectorId, entitlementId: f.bigGroup.memberEntitlementId, requestable: false, steps: [] },
  });
  expect(own.errors).toBeUndefined();
});

afterAll(async () => {
  await h?.close();
});

describe('requestableEntitlements', () => {
  it("offers a member the grantable entitlements of its own connectors whose policy is requestable, with the policy's limits", async () => {
    const member = await h.token('MEMBER', 'u0', { tid: TENANT, oid: f.users[0]!.externalId });
    const r = await h.gql<A>(member, Q, { first: 100 });
    expect(r.errors).toBeUndefined();
    const list = r.data!.requestableEntitlements;
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((e) => e.connector.id === f.connectorId)).toBe(true);
    expect(list.map((e) => e.entitlement.id)).not.toContain(f.bigGroup.memberEntitlementId);
    expect(list.map((e) => e.entitlement.id)).not.toContain(f.dynamicGroup.memberEntitlementId); // not grantable
    expect(list[0]).toMatchObject({ maxDurationSeconds: 86_400, requireDuration: true, approvalSteps: 1 });
    // Sorted by name, searchable by a case-insensitive substring.
    const names = list.map((e) => e.entitlement.displayName);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
    const needle = names[0]!.slice(2, 7).toUpperCase();
    const found = await h.gql<A>(member, Q, { search: needle });
    expect(found.data!.requestableEntitlements.every((e) => e.entitlement.displayName.toUpperCase().includes(needle))).toBe(true);
    expect(found.data!.requestableEntitlements.length).toBeGreaterThan(0);
    // LIKE wildcards are literal.
    expect((await h.gql<A>(member, Q, { search: '%' })).data!.requestableEntitlements).toEqual([]);
  });

  it('offers nothing to a member without an identity, and staff every connector; a member cannot go below the listed fields', async () => {
    const stranger = await h.token('MEMBER', 'x', { tid: '00000000-0000-4000-8000-000000000000', oid: 'nobody' });
    expect((await h.gql<A>(stranger, Q, {})).data!.requestableEntitlements).toEqual([]);
    const viewer = await h.token('VIEWER', 'v');
    const all = (await h.gql<A>(viewer, Q, { first: 100 })).data!.requestableEntitlements;
    expect(new Set(all.map((e) => e.connector.id))).toEqual(new Set([f.connectorId, other.connectorId]));
    const member = await h.token('MEMBER', 'u0', { tid: TENANT, oid: f.users[0]!.externalId });
    const deeper = await h.gql(member, '{ requestableEntitlements { entitlement { grants { totalCount } } } }');
    expect(deeper.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await h.gql(null, Q, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('follows a policy change at once (never answered from the response cache)', async () => {
    const member = await h.token('MEMBER', 'u0', { tid: TENANT, oid: f.users[0]!.externalId });
    const before = (await h.gql<A>(member, Q, { first: 100 })).data!.requestableEntitlements.length;
    const admin = await h.token('SUPER_ADMIN', 'root');
    await h.gql(admin, `mutation($input: AccessPolicyInput!) { setAccessPolicy(input: $input) { id } }`, {
      input: { connectorId: f.connectorId, requestable: false, steps: [] },
    });
    const after = (await h.gql<A>(member, Q, { first: 100 })).data!.requestableEntitlements.length;
    expect(before).toBeGreaterThan(0);
    expect(after).toBe(0);
  });
});
