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
});
