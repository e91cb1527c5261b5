import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './support/fixture';
import { startCountingHarness, type CountedRun, type Harness } from './support/harness';

/**
 * totalCount rides in the page statement when the client selects it (directly or through a
 * fragment), costs nothing when it does not, and still answers when the page is empty.
 */
let h: Harness;
let f: Fixture;
let run: CountedRun;

beforeAll(async () => {
  ({ h, f, run } = await startCountingHarness(120));
});
afterAll(async () => h?.close());

type Page = { totalCount?: number; edges: { cursor: string }[]; pageInfo: { endCursor: string | null } };

describe('totalCount', () => {
  it('a search page with totalCount is one statement, and the count matches the rows', async () => {
    const q =
      'query($c: ID!) { resources(connectorId: $c, type: USER, search: "finance", first: 500) { totalCount edges { cursor } pageInfo { endCursor } } }';
    const r = await run<{ resources: Page }>(q, { c: f.connectorId });
    expect(r.data.resources.totalCount).toBe(r.data.resources.edges.length);
    expect(r.data.resources.totalCount).toBe(12);
    expect(r.statements.filter((s) => s.includes('from "resources"'))).toHaveLength(1);
  });

  it('no count at all when totalCount is not selected; a fragment selection counts as selected', async () => {
    const plain = await run<{ resources: Page }>(
      'query($c: ID!) { resources(connectorId: $c, first: 5) { edges { cursor } pageInfo { endCursor } } }',
      { c: f.connectorId },
    );
    expect(plain.statements.join('\n')).not.toMatch(/count\(\*\)/);
    const viaFragment = await run<{ resources: Page }>(
      'fragment T on ResourceConnection { totalCount } query($c: ID!) { resources(connectorId: $c, type: USER, first: 5) { ...T edges { cursor } pageInfo { endCursor } } }',
      { c: f.connectorId },
    );
    expect(viaFragment.data.resources.totalCount).toBe(120);
    expect(viaFragment.statements).toHaveLength(1);
  });

  it('an empty page past the end still reports the total (separate count)', async () => {
    const all = await run<{ resources: Page }>(
      'query($c: ID!) { resources(connectorId: $c, type: USER, first: 500) { edges { cursor } pageInfo { endCursor } } }',
      { c: f.connectorId },
    );
    const last = all.data.resources.pageInfo.endCursor;
    const past = await run<{ resources: Page }>(
      'query($c: ID!, $a: String) { resources(connectorId: $c, type: USER, after: $a) { totalCount edges { cursor } pageInfo { endCursor } } }',
      { c: f.connectorId, a: last },
    );
    expect(past.data.resources.edges).toHaveLength(0);
    expect(past.data.resources.totalCount).toBe(120);
  });

  it("a group's grants page with includeInherited carries its distinct-pair count in the page statement", async () => {
    const q = `query($e: ID!) { entitlement(id: $e) { grants(first: 500) { totalCount edges { cursor } pageInfo { endCursor } } } }`;
    const r = await run<{ entitlement: { grants: Page } }>(q, { e: f.bigGroup.memberEntitlementId });
    expect(r.data.entitlement.grants.totalCount).toBe(r.data.entitlement.grants.edges.length);
    // The entitlement, its page and the count: one statement (GrantService.pageUnder).
    expect(r.statements).toHaveLength(1);
  });
});

describe('totalCount of sync runs and the audit log', () => {
  it("a connector's sync runs with totalCount: the page carries the count, page after page", async () => {
    await h.db
      .insertInto('sync_runs')
      .values(
        [0, 1, 2, 3, 4].map((i) => ({
          connector_id: f.connectorId,
          mode: 'FULL' as const,
          status: 'SUCCEEDED' as const,
          queued_at: sql`${new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString()}::timestamptz`,
        })),
      )
      .execute();
    const total = Number(
      (
        await h.db
          .selectFrom('sync_runs')
          .where('connector_id', '=', f.connectorId)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(total).toBeGreaterThanOrEqual(5);
    const q = `query($c: ID!, $a: String) { connector(id: $c) { syncRuns(first: 2, after: $a) { totalCount edges { node { id queuedAt } } pageInfo { hasNextPage endCursor } } } }`;
    type Runs = {
      connector: {
        syncRuns: {
          totalCount: number;
          edges: { node: { id: string; queuedAt: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      };
    };
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: { data: Runs; statements: string[] } = await run<Runs>(q, { c: f.connectorId, a: after });
      // The connector, then its page with the count: no separate COUNT.
      expect(r.statements).toHaveLength(2);
      expect(r.data.connector.syncRuns.totalCount).toBe(total);
      seen.push(...r.data.connector.syncRuns.edges.map((e) => e.node.queuedAt));
      if (!r.data.connector.syncRuns.pageInfo.hasNextPage) break;
      after = r.data.connector.syncRuns.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(total);
    expect([...seen].sort().reverse()).toEqual(seen);
  });

  it('the audit log with totalCount is one statement under every filter, and the count is what the filter matches', async () => {
    const t0 = new Date(Date.UTC(2026, 10, 2));
    const at = (ms: number) => new Date(t0.getTime() + ms).toISOString();
    const rows = [
      {
        actor: 'alice',
        action: 'grant.requested',
        connector_id: f.connectorId,
        at: at(1_000),
      },
      {
        actor: 'alice',
        action: 'grant.succeeded',
        connector_id: f.connectorId,
        at: at(2_000),
      },
      {
        actor: 'bob',
        action: 'grant_x',
        connector_id: f.connectorId,
        at: at(3_000),
      },
      {
        actor: 'bob',
        action: 'sync.requested',
        connector_id: null,
        at: at(4_000),
      },
    ];
    // Raw: Kysely's insert type does not take a value for the Generated<ColumnType> column `at`.
    for (const r of rows)
      await sql`INSERT INTO audit_events (actor, action, connector_id, at) VALUES (${r.actor}, ${r.action}, ${r.connector_id}::uuid, ${r.at}::timestamptz)`.execute(
        h.db,
      );
    const q = `query($c: ID, $actor: String, $action: String, $since: DateTime, $until: DateTime) { auditEvents(connectorId: $c, actor: $actor, action: $action, since: $since, until: $until, first: 50) { totalCount edges { node { actor action } } } }`;
    const since = t0.toISOString();
    const cases: [Record<string, unknown>, number][] = [
      [{ c: f.connectorId, since }, 3],
      [{ actor: 'alice', since }, 2],
      // 'grant.' is a prefix: grant_x must not match ('_' escaped), grant.requested and .succeeded do.
      [{ action: 'grant.', since }, 2],
      [{ action: 'grant_x', since }, 1],
      [{ since, until: new Date(t0.getTime() + 2_500).toISOString() }, 2],
      [{ c: f.connectorId, actor: 'bob', action: 'grant_x', since }, 1],
    ];
    for (const [vars, n] of cases) {
      const r = await run<{ auditEvents: { totalCount: number; edges: unknown[] } }>(q, vars);
      expect(r.data.auditEvents.totalCount, JSON.stringify(vars)).toBe(n);
      expect(r.data.auditEvents.edges).toHaveLength(n);
      expect(r.statements.filter((s) => /audit_events/.test(s))).toHaveLength(1);
    }
  });
});
