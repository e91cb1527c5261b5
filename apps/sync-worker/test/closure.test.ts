import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { TenantExport } from '@warden/graph-emulator';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { inheritedGroups } from '@warden/access-model';
import { recomputeClosure } from '../src/inheritance/recompute';
import { expectedModel } from './support/expected';

const key = (g: string) => `GROUP:${g}:member`;

describe('inheritedGroups (pure)', () => {
  it('follows a chain and records the path outermost first', () => {
    const parents = new Map([
      ['A', ['B']],
      ['B', ['C']],
    ]);
    const got = inheritedGroups('U', ['A'], parents);
    expect([...got]).toEqual([
      ['B', [key('A')]],
      ['C', [key('B'), key('A')]],
    ]);
  });

  it('is cycle-safe and never lets a group inherit itself', () => {
    const parents = new Map([
      ['A', ['B']],
      ['B', ['C']],
      ['C', ['A']],
    ]);
    expect(Object.fromEntries(inheritedGroups('A', ['B'], parents))).toEqual({ C: [key('B')] });
    // A user in A reaches A again around the cycle: that is an inherited row next to the direct one.
    expect(Object.fromEntries(inheritedGroups('U', ['A'], parents))).toEqual({
      B: [key('A')],
      C: [key('B'), key('A')],
      A: [key('C'), key('B'), key('A')],
    });
  });

  it('takes the shortest path and, among equals, the first by group id', () => {
    const parents = new Map([
      ['A', ['T']],
      ['B', ['T']],
      ['C', ['D']],
      ['D', ['T']],
    ]);
    expect(inheritedGroups('U', ['C', 'B', 'A'], parents).get('T')).toEqual([key('A')]);
  });
});

function fakeExport(users: string[], groups: { id: string; members: string[] }[]): TenantExport {
  return {
    tenantId: 't',
    users: users.map((id) => ({ id })),
    groups: groups.map((g) => ({ id: g.id, members: g.members, owners: [] })),
    servicePrincipals: [],
    appRoleAssignments: [],
    servicePrincipalOwners: [],
    roleDefinitions: [],
    roleAssignments: [],
    administrativeUnits: [],
    applications: [],
    roleEligibilitySchedules: [],
    directoryRoles: [],
    devices: [],
    orgContacts: [],
  };
}

describe('recomputeClosure (database)', () => {
  let tdb: TestDatabase;
  let connectorId: string;
  beforeAll(async () => {
    tdb = await createTestDatabase('sync_closure');
    connectorId = (
      await tdb.db
        .insertInto('connectors')
        .values({ display_name: 'c', auth_method: 'CLIENT_SECRET' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  });
  afterAll(async () => {
    await tdb.drop();
  });

  // A seeded random tenant with nesting and cycles: users u0..u39, groups g0..g11.
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const users = Array.from({ length: 40 }, (_, i) => `u${String(i).padStart(2, '0')}-${randomUUID()}`);
  const groups = Array.from({ length: 12 }, (_, i) => ({ id: `g${String(i).padStart(2, '0')}-${randomUUID()}`, members: [] as string[] }));
  for (const g of groups) {
    for (const u of users) if (rnd() < 0.15) g.members.push(u);
    for (const h of groups) if (h !== g && rnd() < 0.12) g.members.push(h.id);
  }
  const kindOf = (id: string) => (id.startsWith('g') ? 'GROUP' : 'USER');

  async function writeDirect(): Promise<void> {
    await sql`DELETE FROM grants WHERE connector_id = ${connectorId}::uuid AND direct`.execute(tdb.db);
    await sql`DELETE FROM resources WHERE connector_id = ${connectorId}::uuid`.execute(tdb.db);
    await tdb.db
      .insertInto('resources')
      .values(groups.map((g) => ({ connector_id: connectorId, type: 'GROUP' as const, external_id: g.id, profile: '{}' })))
      .execute();
    const rows = groups.flatMap((g) =>
      g.members.map((m) => ({
        connector_id: connectorId,
        entitlement_key: key(g.id),
        principal_external_id: m,
        principal_kind: kindOf(m) as 'USER' | 'GROUP',
        direct: true,
      })),
    );
    if (rows.length) await tdb.db.insertInto('grants').values(rows).execute();
  }

  async function inheritedInDb(): Promise<Map<string, string>> {
    const rows = await tdb.db
      .selectFrom('grants')
      .select(['entitlement_key', 'principal_external_id', 'via', 'principal_kind'])
      .where('connector_id', '=', connectorId)
      .where('direct', '=', false)
      .execute();
    return new Map(rows.map((r) => [`${r.entitlement_key}\n${r.principal_external_id}`, `${r.principal_kind} ${r.via.join(',')}`]));
  }

  function inheritedExpected(): Map<string, string> {
    const m = expectedModel(fakeExport(users, groups));
    const out = new Map<string, string>();
    for (const [k, g] of m.grants) {
      const [ek, p, direct] = k.split('\n');
      if (direct === 'false') out.set(`${ek}\n${p}`, `${g.kind} ${g.via.join(',')}`);
    }
    return out;
  }

  it('computes the whole closure, then keeps it exact incrementally from the changed principals', async () => {
    await writeDirect();
    const first = await recomputeClosure(tdb.db, connectorId, 'all');
    const want = inheritedExpected();
    expect(want.size).toBeGreaterThan(20);
    expect(await inheritedInDb()).toEqual(want);
    expect(first.written).toBe(want.size);

    // Nothing changed: nothing written.
    const again = await recomputeClosure(tdb.db, connectorId, 'all');
    expect(again).toMatchObject({ written: 0, deleted: 0 });

    for (let round = 0; round < 5; round++) {
      const roots = new Set<string>();
      for (let k = 0; k < 6; k++) {
        const g = groups[Math.floor(rnd() * groups.length)]!;
        if (rnd() < 0.5 && g.members.length) {
          const [m] = g.members.splice(Math.floor(rnd() * g.members.length), 1);
          roots.add(m!);
        } else {
          const pick = rnd() < 0.4 ? groups[Math.floor(rnd() * groups.length)]!.id : users[Math.floor(rnd() * users.length)]!;
          if (pick !== g.id && !g.members.includes(pick)) {
            g.members.push(pick);
            roots.add(pick);
          }
        }
      }
      await writeDirect();
      await recomputeClosure(tdb.db, connectorId, roots);
      expect(await inheritedInDb()).toEqual(inheritedExpected());
    }
  });
});
