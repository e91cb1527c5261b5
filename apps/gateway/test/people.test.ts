import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './support/fixture';
import { startCountingHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;
let viewer: string;
let statements: string[] = [];

beforeAll(async () => {
  ({ h, statements, f, token: viewer } = await startCountingHarness(200));
  const [boss, u1, u2] = f.users as [Fixture['users'][number], Fixture['users'][number], Fixture['users'][number]];
  // What the sync worker writes: the manager's Graph id and signInActivity's times in the profile.
  for (const [u, patch] of [
    [
      u1,
      { managerId: boss.externalId, lastSignInDateTime: '2026-11-01T08:00:00Z', lastNonInteractiveSignInDateTime: '2026-11-03T09:30:00Z' },
    ],
    [u2, { managerId: 'not-synced-0000', lastSignInDateTime: null, lastNonInteractiveSignInDateTime: null }],
  ] as const) {
    await sql`UPDATE resources SET profile = profile || ${JSON.stringify(patch)}::jsonb WHERE id = ${u.id}::uuid`.execute(h.db);
  }
});
afterAll(async () => h?.close());

describe('Resource.manager and Resource.lastSignInAt', () => {
  it('resolve from the profile, null when absent or the manager is not synced', async () => {
    type Node = { externalId: string; manager: { externalId: string; displayName: string } | null; lastSignInAt: string | null };
    const [boss, u1, u2] = f.users as [Fixture['users'][number], Fixture['users'][number], Fixture['users'][number]];
    const fields = 'externalId manager { externalId displayName } lastSignInAt';
    const r = await h.gql<{ a: Node; b: Node; c: Node }>(
      viewer,
      `{ a: resource(id: "${u1.id}") { ${fields} } b: resource(id: "${u2.id}") { ${fields} } c: resource(id: "${boss.id}") { ${fields} } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.a).toMatchObject({
      manager: { externalId: boss.externalId, displayName: boss.name },
      lastSignInAt: '2026-11-03T09:30:00.000Z',
    });
    expect(r.data!.b).toMatchObject({ manager: null, lastSignInAt: null });
    expect(r.data!.c).toMatchObject({ manager: null, lastSignInAt: null });
  });

  it("a page of 150 grants with each principal's manager and last sign-in costs a bounded number of statements", async () => {
    // Every user reports to one of five managers.
    await sql`UPDATE resources r SET profile = r.profile || jsonb_build_object('managerId', m.external_id)
              FROM (SELECT external_id, row_number() OVER (ORDER BY external_id) AS n FROM resources
                    WHERE connector_id = ${f.connectorId}::uuid AND type = 'USER' ORDER BY external_id LIMIT 5) m
              WHERE r.connector_id = ${f.connectorId}::uuid AND r.type = 'USER'
                AND m.n = 1 + (abs(hashtext(r.external_id)) % 5)`.execute(h.db);
    const q = `query($c: ID!, $e: ID!, $first: Int) { grants(connectorId: $c, entitlementId: $e, first: $first) { edges { node { principal { displayName lastSignInAt manager { displayName } } } } } }`;
    const count = async (first: number) => {
      statements.length = 0;
      const r = await h.gql<{ grants: { edges: { node: { principal: { manager: { displayName: string } | null } } }[] } }>(viewer, q, {
        c: f.connectorId,
        e: f.bigGroup.memberEntitlementId,
        first,
      });
      expect(r.errors).toBeUndefined();
      expect(r.data!.grants.edges.filter((e) => e.node.principal.manager !== null).length).toBeGreaterThan(first / 2);
      return statements.length;
    };
    const small = await count(10);
    const large = await count(150);
    // profiles in one batched load, managers in one more: never per row.
    expect(large - small).toBeLessThanOrEqual(2);
    expect(large).toBeLessThanOrEqual(10);
  });
});
