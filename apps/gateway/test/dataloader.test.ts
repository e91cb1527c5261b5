import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './support/fixture';
import { startCountingHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;
let token: string;
let statements: string[] = [];

beforeAll(async () => {
  ({ h, statements, f, token } = await startCountingHarness(300));
});
afterAll(async () => h?.close());

const PAGE = `query($c: ID!, $e: ID!, $first: Int) {
  grants(connectorId: $c, entitlementId: $e, first: $first) {
    totalCount
    edges { node { id direct principal { displayName type } entitlement { displayName slug resource { displayName type } } via { displayName } } }
  }
}`;

async function countFor(first: number): Promise<{ queries: number; rows: number }> {
  statements.length = 0;
  const r = await h.gql<{
    grants: { edges: { node: { principal: { displayName: string }; entitlement: { resource: { displayName: string } } } }[] };
  }>(token, PAGE, { c: f.connectorId, e: f.bigGroup.memberEntitlementId, first });
  expect(r.errors).toBeUndefined();
  for (const e of r.data!.grants.edges) {
    expect(e.node.principal.displayName).not.toBe('');
    expect(e.node.entitlement.resource.displayName).toBe('All staff');
  }
  return { queries: statements.length, rows: r.data!.grants.edges.length };
}

describe('DataLoader batching', () => {
  it('a page of grants with principal, entitlement and resource names costs the same number of SQL statements at 10, 100 and 250 rows', async () => {
    const small = await countFor(10);
    const hundred = await countFor(100);
    const large = await countFor(250);
    expect(small.rows).toBe(10);
    expect(hundred.rows).toBe(100);
    expect(large.rows).toBe(250);
    // entitlement by id + connector check + grants page (entitlement, principal and the entitlement's
    // resource joined in and primed into the loaders) + totalCount, and from 100 rows on, where the
    // page holds inherited rows, one batched load of their `via` entitlements (DataLoader may split a
    // batch over two event-loop ticks under load, so allow one more). Never per row: 250 rows would
    // otherwise cost hundreds of statements.
    for (const c of [small, hundred, large]) expect(c.queries).toBeLessThanOrEqual(6);
    expect(large.queries - small.queries).toBeLessThanOrEqual(2);
  });

  it("a grants page that asks for principals' profiles loads them in one more statement, and they are the stored ones", async () => {
    const q = `query($c: ID!, $e: ID!) { grants(connectorId: $c, entitlementId: $e, first: 100) { edges { node { principal { displayName profile } } } } }`;
    statements.length = 0;
    const r = await h.gql<{
      grants: { edges: { node: { principal: { displayName: string; profile: { userPrincipalName?: string } } } }[] };
    }>(token, q, { c: f.connectorId, e: f.bigGroup.memberEntitlementId });
    expect(r.errors).toBeUndefined();
    const withProfile = statements.length;
    const byName = new Map(f.users.map((u, i) => [u.name, `user${i}@contoso.example`]));
    const users = r.data!.grants.edges.map((e) => e.node.principal).filter((p) => byName.has(p.displayName));
    expect(users.length).toBeGreaterThan(50);
    for (const p of users) expect(p.profile.userPrincipalName).toBe(byName.get(p.displayName));
    statements.length = 0;
    await h.gql(token, q.replace(' profile', ''), { c: f.connectorId, e: f.bigGroup.memberEntitlementId });
    expect(withProfile - statements.length).toBe(1);
  });
});
