import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, PrincipalKind } from '@warden/database';
import { groupOfMemberKey, memberKey, MEMBER_KEY_PATTERN } from '../registry/keys';
import { chunks, sameList } from '../util';

/**
 * The nested-group closure, the one implementation both workers use: the sync worker after a pass
 * (`loadGroupParents` + `inheritedGroups`, with its bulk writers), the provision worker's
 * write-through in the task's transaction (`recomputeInheritedMemberships`).
 */

const LOOKUP_CHUNK = 5_000;

/**
 * Groups a principal reaches through at least one intermediate group, each with the path it comes
 * through: breadth first from the principal's direct groups (sorted), parents sorted, so the path is
 * the shortest one and, among equals, the first by group id. Cycle-safe: every group is expanded
 * once, and nobody inherits itself. The path is returned as membership entitlement keys, outermost
 * first. `direct` defaults to the principal's own entry in `parents`.
 */
export function inheritedGroups(principal: string, parents: ReadonlyMap<string, readonly string[]>): Map<string, string[]>;
export function inheritedGroups(
  principal: string,
  direct: readonly string[],
  parents: ReadonlyMap<string, readonly string[]>,
): Map<string, string[]>;
export function inheritedGroups(
  principal: string,
  a: readonly string[] | ReadonlyMap<string, readonly string[]>,
  b?: ReadonlyMap<string, readonly string[]>,
): Map<string, string[]> {
  const parents = b ?? (a as ReadonlyMap<string, readonly string[]>);
  const direct = b ? (a as readonly string[]) : (parents.get(principal) ?? []);
  const out = new Map<string, string[]>();
  const expanded = new Set<string>();
  const queue: { at: string; path: string[] }[] = [];
  for (const g of [...direct].sort()) {
    if (g === principal || expanded.has(g)) continue;
    expanded.add(g);
    queue.push({ at: g, path: [g] });
  }
  for (let i = 0; i < queue.length; i++) {
    const { at, path } = queue[i]!;
    for (const up of parents.get(at) ?? []) {
      if (up === principal) continue;
      if (!out.has(up)) out.set(up, [...path].reverse().map(memberKey));
      if (!expanded.has(up)) {
        expanded.add(up);
        queue.push({ at: up, path: [...path, up] });
      }
    }
  }
  return out;
}

/**
 * Every group of the connector → the groups it is a direct member of (sorted): the part of the graph
 * the BFS walks. Read from migration 0015's partial index of group-in-group memberships (a few
 * hundred rows at L) instead of probing the principal index with every group id; the pattern is a
 * literal so that the planner can match the index's predicate.
 */
export async function loadGroupParents(db: Kysely<Database>, connectorId: string): Promise<Map<string, string[]>> {
  const edges = await sql<{ p: string; key: string }>`
    SELECT principal_external_id AS p, entitlement_key AS key FROM grants
    WHERE connector_id = ${connectorId}::uuid AND direct AND principal_kind = 'GROUP' AND entitlement_key LIKE ${sql.lit(MEMBER_KEY_PATTERN)}`.execute(
    db,
  );
  // Only principals that are stored groups (a few hundred unique-index probes).
  const ids = [...new Set(edges.rows.map((r) => r.p))];
  const stored = new Set<string>();
  for (const batch of chunks(ids, LOOKUP_CHUNK)) {
    const r = await sql<{ id: string }>`
      SELECT external_id AS id FROM resources WHERE connector_id = ${connectorId}::uuid AND external_id = ANY(${batch}::text[]) AND type = 'GROUP'`.execute(
      db,
    );
    for (const x of r.rows) stored.add(x.id);
  }
  const parents = new Map<string, string[]>();
  for (const r of edges.rows) {
    if (!stored.has(r.p)) continue;
    const g = groupOfMemberKey(r.key);
    if (!g) continue;
    const list = parents.get(r.p) ?? [];
    list.push(g);
    parents.set(r.p, list);
  }
  for (const l of parents.values()) l.sort();
  return parents;
}

/** Direct group memberships of the principals and, transitively, of every group above them. */
async function loadParentsFrom(trx: Transaction<Database>, connectorId: string, start: string[]): Promise<Map<string, string[]>> {
  const parents = new Map<string, string[]>();
  let frontier = start;
  while (frontier.length > 0) {
    for (const id of frontier) parents.set(id, []);
    const next = new Set<string>();
    for (const chunk of chunks(frontier, LOOKUP_CHUNK)) {
      const rows = await trx
        .selectFrom('grants')
        .select(['principal_external_id', 'entitlement_key'])
        .where('connector_id', '=', connectorId)
        .where('direct', '=', true)
        .where('principal_external_id', 'in', chunk)
        .where('entitlement_key', 'like', MEMBER_KEY_PATTERN)
        .execute();
      for (const r of rows) {
        const group = groupOfMemberKey(r.entitlement_key);
        if (!group) continue;
        parents.get(r.principal_external_id)!.push(group);
        if (!parents.has(group)) next.add(group);
      }
    }
    frontier = [...next];
  }
  for (const list of parents.values()) list.sort();
  return parents;
}

export interface InheritancePrincipal {
  id: string;
  kind: PrincipalKind;
}

/**
 * Brings the inherited group-membership rows of `roots` — and, for roots that are groups, of
 * everything nested inside them — in line with the direct membership rows, in the caller's
 * transaction (the provision worker's write-through). An inherited row (direct=false) exists for
 * every group reachable through at least one intermediate group; `via` is the shortest such path
 * (ties broken by group id), outermost first.
 */
export async function recomputeInheritedMemberships(
  trx: Transaction<Database>,
  connectorId: string,
  roots: InheritancePrincipal[],
): Promise<void> {
  const affected = new Map<string, PrincipalKind>();
  for (const r of roots) affected.set(r.id, r.kind);
  // Everything nested (transitively, by direct rows) inside the roots that are groups.
  let frontier = roots.filter((r) => r.kind === 'GROUP').map((r) => r.id);
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const chunk of chunks(frontier, LOOKUP_CHUNK)) {
      const nested = await trx
        .selectFrom('grants')
        .select(['principal_external_id', 'principal_kind'])
        .where('connector_id', '=', connectorId)
        .where('direct', '=', true)
        .where('entitlement_key', 'in', chunk.map(memberKey))
        .execute();
      for (const n of nested) {
        if (affected.has(n.principal_external_id)) continue;
        affected.set(n.principal_external_id, n.principal_kind);
        if (n.principal_kind === 'GROUP') next.push(n.principal_external_id);
      }
    }
    frontier = next;
  }

  const parents = await loadParentsFrom(trx, connectorId, [...affected.keys()]);
  const desired = new Map<string, string[]>(); // `${principal}\n${groupKey}` -> via
  for (const principal of affected.keys()) {
    for (const [group, via] of inheritedGroups(principal, parents)) desired.set(`${principal}\n${memberKey(group)}`, via);
  }

  const ids = [...affected.keys()];
  const existing: { principal_external_id: string; entitlement_key: string; via: string[] }[] = [];
  for (const chunk of chunks(ids, LOOKUP_CHUNK)) {
    existing.push(
      ...(await trx
        .selectFrom('grants')
        .select(['principal_external_id', 'entitlement_key', 'via'])
        .where('connector_id', '=', connectorId)
        .where('direct', '=', false)
        .where('principal_external_id', 'in', chunk)
        .where('entitlement_key', 'like', MEMBER_KEY_PATTERN)
        .execute()),
    );
  }

  const stale: { principal: string; key: string }[] = [];
  const changed: { principal: string; key: string; via: string[] }[] = [];
  for (const row of existing) {
    const k = `${row.principal_external_id}\n${row.entitlement_key}`;
    const via = desired.get(k);
    if (!via) stale.push({ principal: row.principal_external_id, key: row.entitlement_key });
    else {
      if (!sameList(via, row.via)) changed.push({ principal: row.principal_external_id, key: row.entitlement_key, via });
      desired.delete(k);
    }
  }

  for (const chunk of chunks(stale, 2000)) {
    await sql`
      DELETE FROM grants g USING unnest(${chunk.map((s) => s.principal)}::text[], ${chunk.map((s) => s.key)}::text[]) AS d(p, k)
      WHERE g.connector_id = ${connectorId} AND g.direct = false AND g.principal_external_id = d.p AND g.entitlement_key = d.k`.execute(
      trx,
    );
  }
  for (const c of changed) {
    await trx
      .updateTable('grants')
      .set({ via: c.via, updated_at: sql`now()` })
      .where('connector_id', '=', connectorId)
      .where('direct', '=', false)
      .where('principal_external_id', '=', c.principal)
      .where('entitlement_key', '=', c.key)
      .execute();
  }
  const rows = [...desired].map(([k, via]) => {
    const [principal, key] = k.split('\n') as [string, string];
    return {
      connector_id: connectorId,
      entitlement_key: key,
      principal_external_id: principal,
      principal_kind: affected.get(principal) ?? 'USER',
      direct: false,
      via,
      source: 'provisioning' as const,
    };
  });
  for (const chunk of chunks(rows, 1000)) {
    await trx
      .insertInto('grants')
      .values(chunk)
      .onConflict((oc) =>
        oc
          .columns(['connector_id', 'entitlement_key', 'principal_external_id', 'direct'])
          .doUpdateSet((eb) => ({ via: eb.ref('excluded.via'), updated_at: sql`now()` })),
      )
      .execute();
  }
}
