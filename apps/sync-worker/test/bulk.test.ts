import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgPoolOf } from '@warden/database';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import type { ResourceInput } from '../src/model';
import { COPY_MIN_ROWS } from '../src/writers/bulk';
import { upsertInheritedGrants } from '../src/writers/grants';
import { upsertEntitlements } from '../src/writers/entitlements';
import { upsertResources } from '../src/writers/resources';
import { WriteBuffer } from '../src/writers/buffer';
import { dedupeBy2 } from '../src/writers/chunks';

// Values COPY's text format must escape (tab, newline, carriage return, backslash, the \N marker),
// plus non-ASCII and JSON with its own escapes.
const AWKWARD = ['tab\there', 'new\nline', 'cr\rhere', 'back\\slash', '\\N', 'naïve – 名前', '"quoted" {json}', ''];

function resources(prefix: string, n: number): ResourceInput[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `${AWKWARD[i % AWKWARD.length]} ${i}`;
    return {
      type: 'USER' as const,
      externalId: `${prefix}-${String(i).padStart(5, '0')}`,
      displayName: name,
      profile: { userPrincipalName: `${name}@example.com`, department: i % 3 === 0 ? null : AWKWARD[(i + 1) % AWKWARD.length]! },
      searchText: name.toLowerCase(),
    };
  });
}

describe('bulk merges (COPY into staging, or unnest)', () => {
  let tdb: TestDatabase;
  let connectorId: string;

  beforeAll(async () => {
    tdb = await createTestDatabase('sync_bulk');
    connectorId = (
      await tdb.db
        .insertInto('connectors')
        .values({ display_name: 'bulk', tenant_id: 't', client_id: 'c', auth_method: 'CLIENT_SECRET' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  }, 60_000);
  afterAll(async () => {
    await tdb?.drop();
  });

  const stored = async (prefix: string) =>
    (
      await tdb.db
        .selectFrom('resources')
        .select(['external_id', 'display_name', 'profile', 'search_text'])
        .where('connector_id', '=', connectorId)
        .where('external_id', 'like', `${prefix}-%`)
        .orderBy('external_id')
        .execute()
    ).map((r) => ({ externalId: r.external_id, displayName: r.display_name, profile: r.profile, searchText: r.search_text }));

  it('writes the same rows through COPY (large batch) and unnest (small batch), awkward characters intact', async () => {
    expect(pgPoolOf(tdb.db)).not.toBeNull();
    const big = resources('copy', COPY_MIN_ROWS + 37);
    const small = resources('unnest', COPY_MIN_ROWS - 1);
    expect(await upsertResources(tdb.db, connectorId, big, null)).toBe(big.length);
    expect(await upsertResources(tdb.db, connectorId, small, null)).toBe(small.length);
    const want = (rows: ResourceInput[]) =>
      rows.map((r) => ({ externalId: r.externalId, displayName: r.displayName, profile: r.profile, searchText: r.searchText }));
    expect(await stored('copy')).toEqual(want(big));
    expect(await stored('unnest')).toEqual(want(small));
    // Unchanged rows are not rewritten, on either path.
    expect(await upsertResources(tdb.db, connectorId, big, null)).toBe(0);
    expect(await upsertResources(tdb.db, connectorId, small, null)).toBe(0);
  });

  it('stages through one table per connection and column list, emptied by each commit; a failed batch costs only its connection', async () => {
    const stagingTables = async () =>
      (
        await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'warden_stage_%' AND relpersistence = 't' AND relkind = 'r'`.execute(
          tdb.db,
        )
      ).rows[0]!.n;
    const batches = async (from: number) => {
      for (let i = from; i < from + 6; i++) {
        const batch = resources(`stage${i}`, COPY_MIN_ROWS);
        expect(await upsertResources(tdb.db, connectorId, batch, null)).toBe(batch.length);
      }
    };
    await batches(0);
    const tables = await stagingTables();
    expect(tables).toBeGreaterThan(0);
    // More batches reuse them: the count does not grow with the batches.
    await batches(6);
    expect(await stagingTables()).toBe(tables);
    // A row the table refuses fails the whole batch (nothing of it stays) and the next batch works.
    const bad = resources('bad', COPY_MIN_ROWS).map((r, i) => (i === 7 ? { ...r, type: 'BOGUS' as ResourceInput['type'] } : r));
    await expect(upsertResources(tdb.db, connectorId, bad, null)).rejects.toThrow(/check/);
    expect(await stored('bad')).toEqual([]);
    const after = resources('after', COPY_MIN_ROWS);
    expect(await upsertResources(tdb.db, connectorId, after, null)).toBe(after.length);
    for (let i = 0; i < 12; i++) expect(await stored(`stage${i}`)).toHaveLength(COPY_MIN_ROWS);
  });

  it('falls back to unnest inside a transaction (no pool to COPY through) and keeps via paths in order', async () => {
    const rows = Array.from({ length: COPY_MIN_ROWS + 5 }, (_, i) => ({
      entitlementKey: `GROUP:g${i % 7}:member`,
      principalExternalId: `p-${i}`,
      principalKind: 'USER' as const,
      via: i % 2 ? [`GROUP:z${i}:member`, `GROUP:a${i}:member`] : [`GROUP:m${i}:member`],
    }));
    await tdb.db.transaction().execute(async (trx) => {
      expect(pgPoolOf(trx)).toBeNull();
      expect(await upsertInheritedGrants(trx, connectorId, rows)).toBe(rows.length);
    });
    // The same rows again through COPY: nothing differs, nothing is written.
    expect(await upsertInheritedGrants(tdb.db, connectorId, rows)).toBe(0);
    const got = await tdb.db
      .selectFrom('grants')
      .select(['principal_external_id', 'via'])
      .where('connector_id', '=', connectorId)
      .where('direct', '=', false)
      .execute();
    const byPrincipal = new Map(got.map((g) => [g.principal_external_id, g.via]));
    for (const r of rows) expect(byPrincipal.get(r.principalExternalId)).toEqual(r.via);
  });
  it('a write buffer writes its three tables at once and counts every row; a pair twice in one batch: the last wins', async () => {
    const buf = new WriteBuffer();
    const groups = ['wb-g1', 'wb-g2'];
    for (const g of groups) {
      buf.resources.push({ type: 'GROUP', externalId: g, displayName: g, profile: {}, searchText: g });
      for (const slug of ['member', 'owner'])
        buf.entitlements.push({
          key: `GROUP:${g}:${slug}`,
          resourceExternalId: g,
          resourceType: 'GROUP',
          slug,
          displayName: `${slug} of ${g}`,
          grantable: true,
          appRoleId: null,
          metadata: {},
        });
    }
    const grant = (g: string, p: string, aid: string) => ({
      entitlementKey: `GROUP:${g}:member`,
      principalExternalId: p,
      principalKind: 'USER' as const,
      graphAssignmentId: aid,
      expiresAt: null,
    });
    buf.grants.push(grant('wb-g1', 'u1', 'first'), grant('wb-g2', 'u1', 'other'), grant('wb-g1', 'u1', 'last'), grant('wb-g1', 'u2', 'x'));
    let extraRan = false;
    const written = await buf.flush(tdb.db, connectorId, null, async () => {
      extraRan = true;
      return 5;
    });
    expect(extraRan).toBe(true);
    // 2 resources + 4 entitlements + 3 distinct grant pairs, plus what the extra write reported.
    expect(written).toBe(2 + 4 + 3 + 5);
    const rows = await tdb.db
      .selectFrom('grants')
      .select(['entitlement_key', 'principal_external_id', 'graph_assignment_id'])
      .where('connector_id', '=', connectorId)
      .where('entitlement_key', 'like', 'GROUP:wb-%')
      .orderBy('entitlement_key')
      .orderBy('principal_external_id')
      .execute();
    expect(rows).toEqual([
      { entitlement_key: 'GROUP:wb-g1:member', principal_external_id: 'u1', graph_assignment_id: 'last' },
      { entitlement_key: 'GROUP:wb-g1:member', principal_external_id: 'u2', graph_assignment_id: 'x' },
      { entitlement_key: 'GROUP:wb-g2:member', principal_external_id: 'u1', graph_assignment_id: 'other' },
    ]);
    expect(
      dedupeBy2(
        [
          ['a', 'b', 1],
          ['a', 'c', 2],
          ['ab', '', 3],
          ['a', 'b', 4],
        ] as const,
        (t) => t[0],
        (t) => t[1],
      ).map((t) => t[2]),
    ).toEqual([4, 2, 3]);
  });
  it('an unmarked write (an incremental page) leaves rows that say the same untouched: no new version, no row lock', async () => {
    const rows = resources('same', 40);
    const ents = rows.map((r) => ({
      key: `USER:${r.externalId}:x`,
      resourceExternalId: r.externalId,
      resourceType: 'USER' as const,
      slug: 'x',
      displayName: r.displayName,
      grantable: true,
      appRoleId: null,
      metadata: { n: 1 },
    }));
    expect(await upsertResources(tdb.db, connectorId, rows, null)).toBe(40);
    expect(await upsertEntitlements(tdb.db, connectorId, ents, null)).toBe(40);
    const versions = async () => ({
      resources: (
        await sql<{ v: string }>`SELECT ctid::text || xmin::text || xmax::text AS v FROM resources
          WHERE connector_id = ${connectorId}::uuid AND external_id LIKE 'same-%' ORDER BY external_id`.execute(tdb.db)
      ).rows.map((r) => r.v),
      entitlements: (
        await sql<{ v: string }>`SELECT ctid::text || xmin::text || xmax::text AS v FROM entitlements
          WHERE connector_id = ${connectorId}::uuid AND key LIKE 'USER:same-%' ORDER BY key`.execute(tdb.db)
      ).rows.map((r) => r.v),
    });
    const before = await versions();
    // The same rows again, and one of each changed: only those two are written.
    const changed = rows.map((r, i) => (i === 7 ? { ...r, displayName: 'renamed', searchText: 'renamed' } : r));
    expect(await upsertResources(tdb.db, connectorId, changed, null)).toBe(1);
    expect(
      await upsertEntitlements(
        tdb.db,
        connectorId,
        ents.map((e, i) => (i === 9 ? { ...e, metadata: { n: 2 } } : e)),
        null,
      ),
    ).toBe(1);
    const after = await versions();
    expect(after.resources.filter((v, i) => v !== before.resources[i])).toHaveLength(1);
    expect(after.resources[7]).not.toBe(before.resources[7]);
    expect(after.entitlements.filter((v, i) => v !== before.entitlements[i])).toHaveLength(1);
    expect(after.entitlements[9]).not.toBe(before.entitlements[9]);
  });
});
