import { sql, type Kysely } from 'kysely';
import type { Database, PrincipalKind } from '@warden/database';
import { chunks, groupOfMemberKey, inheritedGroups, loadGroupParents, memberKey, sameList } from '@warden/access-model';
import { deleteInheritedGrants, upsertInheritedGrants, type InheritedGrant } from '../writers/grants';

const LOOKUP_CHUNK = 5_000;

export interface ClosureResult {
  principals: number;
  written: number;
  deleted: number;
  /** Milliseconds spent reading, computing and writing. */
  ms: { read: number; compute: number; write: number };
}

export { loadGroupParents };

/** The roots plus everything nested (transitively) inside the roots that are groups. */
async function withDescendants(db: Kysely<Database>, connectorId: string, roots: Iterable<string>): Promise<string[]> {
  const seen = new Set<string>(roots);
  let frontier = [...seen];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const batch of chunks(frontier, LOOKUP_CHUNK)) {
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

interface Membership {
  kind: PrincipalKind;
  /** Direct groups of the principal that are themselves nested somewhere: the only ones that lead anywhere. */
  groups: string[];
}

/**
 * Brings inherited membership rows (direct=false) in line with the direct ones, for every principal
 * ('all', after a full pass) or for the principals whose memberships changed and everything nested
 * in them. Only memberships in *nested* groups can produce inherited rows (a group without parents
 * adds nothing to the breadth-first walk), so it reads just those — the members of the few hundred
 * nested groups, not the whole membership table — plus the current inherited rows, diffs, and
 * writes only what differs.
 */
export async function recomputeClosure(db: Kysely<Database>, connectorId: string, scope: 'all' | Iterable<string>): Promise<ClosureResult> {
  const t0 = Date.now();
  const parents = await loadGroupParents(db, connectorId);
  const nestedKeys = [...parents.keys()].map(memberKey);
  const only = scope === 'all' ? null : await withDescendants(db, connectorId, scope);

  const members = new Map<string, Membership>();
  const addMembership = (rows: { p: string; kind: PrincipalKind; key: string }[]) => {
    for (const r of rows) {
      const g = groupOfMemberKey(r.key);
      if (!g) continue;
      const m = members.get(r.p) ?? { kind: r.kind, groups: [] };
      m.groups.push(g);
      members.set(r.p, m);
    }
  };
  const existing: { p: string; key: string; via: string[]; kind: PrincipalKind }[] = [];
  if (only === null) {
    for (const keys of chunks(nestedKeys, LOOKUP_CHUNK)) {
      const rows = await sql<{ p: string; kind: PrincipalKind; key: string }>`
        SELECT principal_external_id AS p, principal_kind AS kind, entitlement_key AS key FROM grants
        WHERE connector_id = ${connectorId}::uuid AND direct AND entitlement_key = ANY(${keys}::text[])`.execute(db);
      addMembership(rows.rows);
    }
    const rows = await sql<{ p: string; key: string; via: string[]; kind: PrincipalKind }>`
      SELECT principal_external_id AS p, entitlement_key AS key, via, principal_kind AS kind FROM grants
      WHERE connector_id = ${connectorId}::uuid AND NOT direct`.execute(db);
    existing.push(...rows.rows);
  } else {
    for (const batch of chunks(only, LOOKUP_CHUNK)) {
      const rows = await sql<{ p: string; kind: PrincipalKind; key: string }>`
        SELECT principal_external_id AS p, principal_kind AS kind, entitlement_key AS key FROM grants
        WHERE connector_id = ${connectorId}::uuid AND direct AND principal_external_id = ANY(${batch}::text[])
          AND entitlement_key = ANY(${nestedKeys}::text[])`.execute(db);
      addMembership(rows.rows);
      const ex = await sql<{ p: string; key: string; via: string[]; kind: PrincipalKind }>`
        SELECT principal_external_id AS p, entitlement_key AS key, via, principal_kind AS kind FROM grants
        WHERE connector_id = ${connectorId}::uuid AND NOT direct AND principal_external_id = ANY(${batch}::text[])`.execute(db);
      existing.push(...ex.rows);
    }
  }

  const t1 = Date.now();
  const desired = new Map<string, InheritedGrant>();
  for (const [p, { kind, groups }] of members) {
    for (const [group, via] of inheritedGroups(p, groups, parents)) {
      desired.set(`${memberKey(group)}\n${p}`, { entitlementKey: memberKey(group), principalExternalId: p, principalKind: kind, via });
    }
  }
  const stale: [string, string][] = [];
  for (const row of existing) {
    const k = `${row.key}\n${row.p}`;
    const want = desired.get(k);
    if (!want) stale.push([row.key, row.p]);
    else if (sameList(want.via, row.via) && want.principalKind === row.kind) desired.delete(k);
  }
  const t2 = Date.now();
  const deleted = await deleteInheritedGrants(db, connectorId, stale);
  const written = await upsertInheritedGrants(db, connectorId, [...desired.values()]);
  return { principals: only?.length ?? members.size, written, deleted, ms: { read: t1 - t0, compute: t2 - t1, write: Date.now() - t2 } };
}
