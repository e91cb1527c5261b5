import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './support/fixture';
import { startCountingHarness, type CountedRun, type Harness } from './support/harness';

/**
 * `entitlement(id) { grants }` and `resource(id) { grants }` fetch the parent and the page in one
 * statement (GrantService.pageUnder). The answers must be those of the two-statement path, which the
 * top-level `grants(connectorId, entitlementId | principalId)` still takes: same rows, order, cursors,
 * pageInfo and totals, page after page, with and without inherited rows.
 */
let h: Harness;
let f: Fixture;
let token: string;
let run: CountedRun;

beforeAll(async () => {
  ({ h, f, token, run } = await startCountingHarness(130));
});
afterAll(async () => h?.close());

const EDGES = `totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id direct principal { id displayName type } entitlement { id displayName resource { id displayName type } } } }`;
type G = { id: string; expiresAt: string | null; createdAt: string; via: { key: string }[] };
type Conn = { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: unknown[] };

describe('a page reached by id is one statement', () => {
  it("an entitlement's holders, its resource and the total: one statement, the same pages as grants(entitlementId)", async () => {
    for (const inherited of [true, false]) {
      let after: string | null = null;
      let pages = 0;
      do {
        const vars: Record<string, unknown> = { c: f.connectorId, e: f.bigGroup.memberEntitlementId, after, inherited };
        const byId: {
          data: { entitlement: { id: string; displayName: string; resource: { displayName: string }; grants: Conn } };
          statements: string[];
        } = await run<{ entitlement: { id: string; displayName: string; resource: { displayName: string }; grants: Conn } }>(
          `query($e: ID!, $after: String, $inherited: Boolean) { entitlement(id: $e) { id displayName resource { displayName } grants(first: 17, after: $after, includeInherited: $inherited) { ${EDGES} } } }`,
          vars,
        );
        const flat = await run<{ grants: Conn }>(
          `query($c: ID!, $e: ID!, $after: String, $inherited: Boolean) { grants(connectorId: $c, entitlementId: $e, first: 17, after: $after, includeInherited: $inherited) { ${EDGES} } }`,
          vars,
        );
        expect(byId.statements).toHaveLength(1);
        expect(byId.data.entitlement.resource.displayName).toBe('All staff');
        expect(byId.data.entitlement.grants).toEqual(flat.data.grants);
        after = byId.data.entitlement.grants.pageInfo.endCursor;
        pages++;
        if (!byId.data.entitlement.grants.pageInfo.hasNextPage) break;
      } while (after);
      // 126 direct holders (131 with the 5 who only inherit), 17 a page.
      expect(pages).toBe(8);
    }
  });

  it('the totals are the stored ones: inherited rows behind a direct one are not counted twice', async () => {
    const q = `query($e: ID!, $i: Boolean) { entitlement(id: $e) { grants(first: 1, includeInherited: $i) { totalCount } } }`;
    const all = await run<{ entitlement: { grants: Conn } }>(q, { e: f.bigGroup.memberEntitlementId, i: true });
    const direct = await run<{ entitlement: { grants: Conn } }>(q, { e: f.bigGroup.memberEntitlementId, i: false });
    // 130 users minus the 5 who only inherit, plus the nested group; those 5 come back as inherited.
    expect(direct.data.entitlement.grants.totalCount).toBe(126);
    expect(all.data.entitlement.grants.totalCount).toBe(131);
  });

  it("a user's access and the total: one statement, the same page as grants(principalId); its profile is still there", async () => {
    const user = f.users[3]!;
    const byId = await run<{ resource: { id: string; profile: { userPrincipalName: string }; grants: Conn } }>(
      `query($r: ID!) { resource(id: $r) { id displayName profile grants(first: 100) { ${EDGES} } } }`,
      { r: user.id },
    );
    const flat = await run<{ grants: Conn }>(
      `query($c: ID!, $p: ID!) { grants(connectorId: $c, principalId: $p, first: 100) { ${EDGES} } }`,
      {
        c: f.connectorId,
        p: user.id,
      },
    );
    expect(byId.data.resource.grants).toEqual(flat.data.grants);
    // User 3 holds the big group directly (its inherited row hidden) and the nested group.
    expect(byId.data.resource.grants.totalCount).toBe(2);
    expect(byId.data.resource.profile.userPrincipalName).toBe('user3@contoso.example');
    // The page and the resource, then the profile the brief row left out.
    expect(byId.statements).toHaveLength(2);
    const withoutProfile = await run(`query($r: ID!) { resource(id: $r) { id grants(first: 100) { ${EDGES} } } }`, { r: user.id });
    expect(withoutProfile.statements).toHaveLength(1);
  });

  it('an empty page past the end still carries the total; an unknown or malformed id is null', async () => {
    const all = await run<{ entitlement: { grants: Conn } }>(
      `query($e: ID!) { entitlement(id: $e) { grants(first: 500) { pageInfo { endCursor } } } }`,
      { e: f.bigGroup.memberEntitlementId },
    );
    const past = await run<{ entitlement: { grants: Conn } }>(
      `query($e: ID!, $a: String) { entitlement(id: $e) { grants(after: $a) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } } }`,
      { e: f.bigGroup.memberEntitlementId, a: all.data.entitlement.grants.pageInfo.endCursor },
    );
    expect(past.data.entitlement.grants).toEqual({ totalCount: 131, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    expect(past.statements).toHaveLength(1);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const r = await run<{ entitlement: null; resource: null }>(
        `query($id: ID!) { entitlement(id: $id) { grants { totalCount } } resource(id: $id) { grants { totalCount } } }`,
        { id },
      );
      expect(r.data).toEqual({ entitlement: null, resource: null });
    }
  });

  it('a bad cursor is still reported on the grants field, with the entitlement answered', async () => {
    const r = await h.gql<{ entitlement: { id: string; grants: Conn | null } | null }>(
      token,
      `query($e: ID!) { entitlement(id: $e) { id grants(after: "nope") { totalCount } } }`,
      { e: f.bigGroup.memberEntitlementId },
    );
    expect(r.errors?.[0]?.path).toEqual(['entitlement', 'grants']);
    expect(r.errors?.[0]?.message).toMatch(/not a cursor/);
  });

  it("a page's via, expiresAt and createdAt (read as text, parsed when asked for) are the stored values", async () => {
    // One grant with an expiry, to the microsecond, so the parse of both kinds of value is seen.
    await h.db
      .updateTable('grants')
      .set({ expires_at: sql<Date>`'2031-02-03T04:05:06.789123Z'::timestamptz` })
      .where('connector_id', '=', f.connectorId)
      .where('entitlement_key', '=', f.bigGroup.memberKey)
      .where('principal_external_id', '=', f.users[20]!.externalId)
      .execute();
    const stored = await h.db
      .selectFrom('grants')
      .select(['id', 'via', 'expires_at', 'created_at'])
      .where('connector_id', '=', f.connectorId)
      .where('entitlement_key', '=', f.bigGroup.memberKey)
      .execute();
    const byId = new Map(stored.map((g) => [g.id, g]));
    for (const q of [
      `query($e: ID!) { entitlement(id: $e) { grants(first: 500) { edges { node { id expiresAt createdAt via { key } } } } } }`,
      `query($c: ID!, $e: ID!) { grants(connectorId: $c, entitlementId: $e, first: 500) { edges { node { id expiresAt createdAt via { key } } } } }`,
    ]) {
      const r = await run<{ entitlement?: { grants: { edges: { node: G }[] } }; grants?: { edges: { node: G }[] } }>(q, {
        c: f.connectorId,
        e: f.bigGroup.memberEntitlementId,
      });
      const edges = (r.data.entitlement?.grants ?? r.data.grants)!.edges;
      expect(edges.length).toBe(131);
      expect(edges.filter((e) => e.node.expiresAt !== null)).toHaveLength(1);
      expect(edges.filter((e) => e.node.via.length > 0)).toHaveLength(5);
      for (const { node } of edges) {
        const g = byId.get(node.id)!;
        expect(node.createdAt).toBe(new Date(g.created_at as unknown as Date).toISOString());
        expect(node.expiresAt).toBe(g.expires_at ? new Date(g.expires_at).toISOString() : null);
        expect(node.via.map((v) => v.key)).toEqual(g.via);
      }
    }
  });

  it('two grants fields under one entitlement (aliases) each get their own page', async () => {
    const r = await run<{ entitlement: { a: Conn; b: Conn } }>(
      `query($e: ID!) { entitlement(id: $e) { a: grants(first: 2) { totalCount edges { cursor } } b: grants(first: 3, includeInherited: false) { totalCount edges { cursor } } } }`,
      { e: f.bigGroup.memberEntitlementId },
    );
    expect(r.data.entitlement.a.edges).toHaveLength(2);
    expect(r.data.entitlement.b.edges).toHaveLength(3);
    expect([r.data.entitlement.a.totalCount, r.data.entitlement.b.totalCount]).toEqual([131, 126]);
  });
});
