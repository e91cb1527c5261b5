import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;
let viewer: string;

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db);
  viewer = await h.token('VIEWER', 'vera');
});
afterAll(async () => h?.close());

interface Conn<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

describe('queries', () => {
  it('lists connectors with totalCount and no secret fields', async () => {
    const r = await h.gql<{ connectors: Conn<{ id: string; displayName: string; status: string; owners: string[] }> }>(
      viewer,
      '{ connectors { totalCount edges { node { id displayName status owners } } pageInfo { hasNextPage endCursor } } }',
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.connectors.totalCount).toBe(1);
    expect(r.data!.connectors.edges[0]!.node).toMatchObject({
      id: f.connectorId,
      displayName: 'Contoso',
      status: 'CONNECTED',
      owners: ['owner-alice'],
    });
  });

  it("shows each connector's latest sync run in the list", async () => {
    const older = await h.db
      .insertInto('sync_runs')
      .values({
        connector_id: f.connectorId,
        mode: 'FULL',
        status: 'SUCCEEDED',
        stats: '{}',
        checkpoint: '{}',
        queued_at: sql`now() - interval '1 minute'`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const newer = await h.db
      .insertInto('sync_runs')
      .values({ connector_id: f.connectorId, mode: 'INCREMENTAL', status: 'FAILED', stats: JSON.stringify({ users: 3 }), checkpoint: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const r = await h.gql<{ connectors: Conn<{ lastSyncRun: { id: string; status: string; stats: { users: number } } | null }> }>(
      viewer,
      '{ connectors { edges { node { lastSyncRun { id status stats { users } } } } } }',
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.connectors.edges[0]!.node.lastSyncRun).toEqual({ id: newer.id, status: 'FAILED', stats: { users: 3 } });
    expect(older.id).not.toBe(newer.id);
    await h.db.deleteFrom('sync_runs').where('connector_id', '=', f.connectorId).execute();
  });

  it('pages resources with keyset cursors, default 50, and no overlap', async () => {
    const q =
      'query($c: ID!, $after: String) { resources(connectorId: $c, type: USER, after: $after) { totalCount edges { cursor node { id externalId } } pageInfo { hasNextPage endCursor } } }';
    const seen = new Set<string>();
    let after: string | null = null;
    let pages = 0;
    do {
      const r: { data?: { resources: Conn<{ id: string }> } | null } = await h.gql(viewer, q, { c: f.connectorId, after });
      const page = r.data!.resources;
      expect(page.totalCount).toBe(120);
      expect(page.edges.length).toBeLessThanOrEqual(50);
      for (const e of page.edges) {
        expect(seen.has(e.node.id)).toBe(false);
        seen.add(e.node.id);
      }
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen.size).toBe(120);
  });

  it('refuses first > 500 and garbage cursors with BAD_USER_INPUT', async () => {
    const big = await h.gql(viewer, 'query($c: ID!) { resources(connectorId: $c, first: 501) { totalCount } }', { c: f.connectorId });
    expect(big.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(big.errors?.[0]?.message).toMatch(/at most 500/);
    const bad = await h.gql(viewer, 'query($c: ID!) { resources(connectorId: $c, after: "nope") { totalCount } }', { c: f.connectorId });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('searches display name, UPN and mail case-insensitively', async () => {
    const byName = await h.gql<{ resources: Conn<{ displayName: string }> }>(
      viewer,
      'query($c: ID!) { resources(connectorId: $c, search: "FINANCE") { totalCount edges { node { displayName } } } }',
      { c: f.connectorId },
    );
    // Users 0,10,…,110 carry "Finance" in their name, plus the "Finance team" group.
    expect(byName.data!.resources.totalCount).toBe(13);
    const byUpn = await h.gql<{ resources: Conn<{ displayName: string }> }>(
      viewer,
      'query($c: ID!) { resources(connectorId: $c, search: "user17@") { edges { node { displayName } } } }',
      { c: f.connectorId },
    );
    expect(byUpn.data!.resources.edges.map((e) => e.node.displayName)).toEqual(['User 0017']);
    const literal = await h.gql<{ resources: Conn<unknown> }>(
      viewer,
      'query($c: ID!) { resources(connectorId: $c, search: "%") { totalCount } }',
      { c: f.connectorId },
    );
    expect(literal.data!.resources.totalCount).toBe(0);
  });

  it('shows inherited grants only where no direct grant exists, with the via path', async () => {
    const q = `query($c: ID!, $e: ID!, $inh: Boolean) { grants(connectorId: $c, entitlementId: $e, includeInherited: $inh, first: 500) {
      totalCount edges { node { direct principal { externalId } via { slug resource { displayName } } } } } }`;
    type G = { direct: boolean; principal: { externalId: string }; via: { slug: string; resource: { displayName: string } }[] };
    const all = await h.gql<{ grants: Conn<G> }>(viewer, q, { c: f.connectorId, e: f.bigGroup.memberEntitlementId, inh: true });
    expect(all.errors).toBeUndefined();
    // 115 direct users + the nested group (direct) + 5 users who only inherit.
    expect(all.data!.grants.totalCount).toBe(121);
    // totalCount is computed differently from the page (distinct pairs); both must agree.
    expect(all.data!.grants.edges).toHaveLength(121);
    const inherited = all.data!.grants.edges.filter((e) => !e.node.direct);
    expect(inherited.map((e) => e.node.principal.externalId).sort()).toEqual(
      f.users
        .slice(10, 15)
        .map((u) => u.externalId)
        .sort(),
    );
    expect(inherited[0]!.node.via.map((v) => v.resource.displayName)).toEqual(['All staff', 'Finance team']);
    const direct = await h.gql<{ grants: Conn<G> }>(viewer, q, { c: f.connectorId, e: f.bigGroup.memberEntitlementId, inh: false });
    expect(direct.data!.grants.totalCount).toBe(116);
    expect(direct.data!.grants.edges.every((e) => e.node.direct)).toBe(true);
  });

  it("resolves a user's grants with entitlement and resource names", async () => {
    const r = await h.gql<{
      resource: { displayName: string; grants: Conn<{ entitlement: { slug: string; resource: { displayName: string } } }> };
    }>(
      viewer,
      'query($id: ID!) { resource(id: $id) { displayName grants { totalCount edges { node { entitlement { slug resource { displayName } } } } } } }',
      { id: f.users[3]!.id },
    );
    expect(r.data!.resource.grants.edges.map((e) => e.node.entitlement.resource.displayName).sort()).toEqual(['All staff', 'Finance team']);
  });

  it("lists a resource's entitlements and returns null for unknown ids", async () => {
    const r = await h.gql<{ resource: { entitlements: { slug: string; grantable: boolean }[] }; missing: null; bad: null }>(
      viewer,
      'query($id: ID!) { resource(id: $id) { entitlements { slug grantable } } missing: resource(id: "00000000-0000-4000-8000-000000000000") { id } bad: entitlement(id: "not-a-uuid") { id } }',
      { id: f.bigGroup.id },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.resource.entitlements.map((e) => e.slug).sort()).toEqual(['member', 'owner']);
    expect(r.data!.missing).toBeNull();
    expect(r.data!.bad).toBeNull();
  });
});
