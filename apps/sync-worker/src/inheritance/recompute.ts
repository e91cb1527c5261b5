import { sql, type Kysely } from 'kysely';
import type { Database, PrincipalKind } from '@warden/schema';
import { memberKey } from '../model';
import { chunks } from '../writers/chunks';
import { deleteInheritedGrants, upsertInheritedGrants, type InheritedGrant } from '../writers/grants';
import { inheritedGroups } from './closure';

const MEMBER_KEY = /^GROUP:([^:]+):member$/;
const PRINCIPALS_PER_CHUNK = 2_000;

export interface ClosureResult {
  principals: number;
  written: number;
  deleted: number;
}

/** group id → the groups it is a direct member of (sorted): the only part of the graph the BFS walks. */
export async function loadGroupParents(db: Kysely<Database>, connectorId: string): Promise<Map<string, string[]>> {
  const rows = await sql<{ principal_external_id: string; entitlement_key: string }>`
    SELECT principal_external_id, entitlement_key FROM grants
    WHERE connector_id = ${connectorId}::uuid AND direct AND principal_kind = 'GROUP' AND entitlement_key LIKE 'GROUP:%:member'`.execute(db);
  const parents = new Map<string, string[]>();
  for (const r of rows.rows) {
    const g = MEMBER_KEY.exec(r.entitlement_key)?.[1];
    if (!g) continue;
    const list = parents.get(r.principal_external_id) ?? [];
    list.push(g);
    parents.set(r.principal_external_id, list);
  }
  for (const l of parents.values()) l.sort();
  return parents;
}

/** Every principal that may hold an inherited grant or holds one now. */
async function allCandidates(db: Kysely<Database>, connectorId: string, parents: Map<string, string[]>): Promise<string[]> {
  const childKeys = [...parents.keys()].map(memberKey);
  const rows = await sql<{ p: string }>`
    SELECT DISTINCT principal_external_id AS p FROM grants
    WHERE connector_id = ${connectorId}::uuid
      AND ((direct AND entitlement_key = ANY(${childKeys}::text[])) OR NOT direct)
    ORDER BY 1`.execute(db);
  return rows.rows.map((r) => r.p);
}

/** The roots plus everything nested (transitively) inside the roots that are groups. */
async function withDescendants(db: Kysely<Database>, connectorId: string, roots: Iterable<string>): Promise<string[]> {
  const seen = new Set<string>(roots);
  let frontier = [...seen];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const batch of chunks(frontier, PRINCIPALS_PER_CHUNK)) {
      const rows = await sql<{ p: string }>`
        SELECT principal_external_id AS p FROM grants
        WHERE connector_id = ${connectorId}::uuid AND direct AND entitlement_key = ANY(${batch.map(memberKey)}::text[])`.execute(db);
      for (const r of rows.rows) {
        if (seen.has(r.p)) continue;
        seen.add(r.p);
        next.push(r.p);
      }
    }
    frontier = next;
  }
  return [...seen];
}

/**
 * Brings inherited membership rows (direct=false) in line with the direct ones for `scope`: every
 * principal ('all', after a full pass) or the principals whose memberships changed and everything
 * nested in them. Diff-based: reads the current inherited rows of a chunk of principals and writes
 * only what differs, so an incremental run touches rows in proportion to the change.
 */
export async function recomputeClosure(db: Kysely<Database>, connectorId: string, scope: 'all' | Iterable<string>): Promise<ClosureResult> {
  const parents = await loadGroupParents(db, connectorId);
  const principals = scope === 'all' ? await allCandidates(db, connectorId, parents) : await withDescendants(db, connectorId, scope);
  const result: ClosureResult = { principals: principals.length, written: 0, deleted: 0 };
  for (const batch of chunks(principals, PRINCIPALS_PER_CHUNK)) {
    const direct = await sql<{ p: string; kind: PrincipalKind; key: string }>`
      SELECT principal_external_id AS p, principal_kind AS kind, entitlement_key AS key FROM grants
      WHERE connector_id = ${connectorId}::uuid AND direct AND principal_external_id = ANY(${batch}::text[]) AND entitlement_key LIKE 'GROUP:%:member'`.execute(db);
    const groupsOf = new Map<string, { kind: PrincipalKind; groups: string[] }>();
    for (const r of direct.rows) {
      const g = MEMBER_KEY.exec(r.key)?.[1];
      if (!g) continue;
      const e = groupsOf.get(r.p) ?? { kind: r.kind, groups: [] };
      e.groups.push(g);
      groupsOf.set(r.p, e);
    }
    const desired = new Map<string, InheritedGrant>();
    for (const [p, { kind, groups }] of groupsOf) {
      // Nothing to inherit unless one of the direct groups is itself nested somewhere.
      if (!groups.some((g) => parents.has(g))) continue;
      for (const [group, via] of inheritedGroups(p, groups, parents)) {
        desired.set(`${memberKey(group)}\n${p}`, { entitlementKey: memberKey(group), principalExternalId: p, principalKind: kind, via });
      }
    }
    const existing = await sql<{ p: string; key: string; via: string[]; kind: PrincipalKind }>`
      SELECT principal_external_id AS p, entitlement_key AS key, via, principal_kind AS kind FROM grants
      WHERE connector_id = ${connectorId}::uuid AND NOT direct AND principal_external_id = ANY(${batch}::text[])`.execute(db);
    const stale: [string, string][] = [];
    for (const row of existing.rows) {
      const k = `${row.key}\n${row.p}`;
      const want = desired.get(k);
      if (!want) stale.push([row.key, row.p]);
      else if (sameList(want.via, row.via) && want.principalKind === row.kind) desired.delete(k);
    }
    result.deleted += await deleteInheritedGrants(db, connectorId, stale);
    result.written += await upsertInheritedGrants(db, connectorId, [...desired.values()]);
  }
  return result;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
