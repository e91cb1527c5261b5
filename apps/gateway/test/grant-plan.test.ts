import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@warden/database';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { GrantService } from '../src/modules/grants/grant.service';

/**
 * The query plan of a grants page with includeInherited, on a table shaped like a synced tenant
 * (one 5,000-member group among 60,000 direct grants, plus inherited rows). Without a fence the
 * planner turns the "no direct row for this pair" probe into a hashed subplan that reads every direct
 * grant in the table for each page once an inherited row is met; the page must stay an index lookup
 * per row.
 */
let t: TestDatabase;
let logged: Kysely<Database>;
const statements: { sql: string; parameters: readonly unknown[] }[] = [];
let connectorId: string;
const BIG = 'GROUP:big:member';

beforeAll(async () => {
  t = await createTestDatabase('warden_gw_plan');
  logged = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: t.url, max: 2 }) }),
    log: (e) => {
      if (e.level === 'query') statements.push({ sql: e.query.sql, parameters: e.query.parameters });
    },
  });
  connectorId = (
    await t.db
      .insertInto('connectors')
      .values({ display_name: 'plan', auth_method: 'CLIENT_SECRET', owners: ['x'] })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  const c = connectorId;
  await sql`
    INSERT INTO grants (connector_id, entitlement_key, principal_external_id, principal_kind, direct)
    SELECT ${c}::uuid, CASE WHEN i <= 5000 THEN ${BIG} ELSE 'GROUP:g' || (i % 200) || ':member' END, 'u' || i, 'USER', true
    FROM generate_series(1, 60000) i`.execute(t.db);
  // Inherited rows: half shadow a direct row (hidden), 400 are the only path (shown).
  await sql`
    INSERT INTO grants (connector_id, entitlement_key, principal_external_id, principal_kind, direct, via)
    SELECT ${c}::uuid, ${BIG}, 'u' || i, 'USER', false, ARRAY['GROUP:big:member', 'GROUP:nested:member']
    FROM generate_series(1, 5400) i WHERE i % 2 = 0 OR i > 5000`.execute(t.db);
  await sql`ANALYZE grants`.execute(t.db);
});
afterAll(async () => {
  await logged?.destroy();
  await t?.drop();
});

describe('grants page plan', () => {
  it('probes the unique index per row instead of hashing every direct grant, and counts what it shows', async () => {
    statements.length = 0;
    const page = await new GrantService(logged).list({ connectorId, entitlementKey: BIG, includeInherited: true }, 100, null);
    expect(page.edges).toHaveLength(100);
    expect(await page.totalCount()).toBe(5000 + 400);
    const pageSql = statements.find((s) => s.sql.includes('NOT EXISTS') && s.sql.includes('limit'));
    expect(pageSql).toBeDefined();

    const client = new pg.Client({ connectionString: t.url });
    await client.connect();
    try {
      const explain = async (text: string) =>
        (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, [...pageSql!.parameters])).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
      const plan = await explain(pageSql!.sql);
      expect(plan).not.toMatch(/hashed SubPlan/);
      // One index lookup per row (whichever grants index the planner picks).
      expect(plan).toMatch(/SubPlan \d+\n\s+->\s+Index (Only )?Scan using \w+ on grants d/);
      // The fence is what decides it: the same statement without it gets the hashed plan on this data.
      expect(await explain(pageSql!.sql.replace(/\s+OFFSET 0\)/i, ')'))).toMatch(/hashed SubPlan/);
    } finally {
      await client.end();
    }
  });
});
