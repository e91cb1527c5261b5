import { sql, type Transaction } from 'kysely';
import type { Database, PrincipalKind } from '@warden/database';

const MEMBER_KEY = /^GROUP:([^:]+):member$/;

export function memberKey(groupId: string): string {
  return `GROUP:${groupId}:member`;
}

export interface Principal {
  id: string;
  kind: PrincipalKind;
}

/**
 * Brings the inherited group-membership rows of `roots` — and, for roots that are groups, of
 * everything nested inside them — in line with the direct membership rows, in the caller's
 * transaction. An inherited row (direct=false) exists for every group reachable through at least
 * one intermediate group; `via` is the shortest such path (ties broken by group id), outermost
 * first. Cycle-safe: a group is expanded once per principal and nobody inherits itself.
 */
export async function recomputeInheritedMemberships(trx: Transaction<Database>, connectorId: string, roots: Principal[]): Promise<void> {
  const affected = new Map<string, PrincipalKind>();
  for (const r of roots) affected.set(r.id, r.kind);
  // Everything nested (transitively, by direct rows) inside the roots that are groups.
  let frontier = roots.filter((r) => r.kind === 'GROUP').map((r) => r.id);
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const chunk of chunks(frontier, 5000)) {
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

  const parents = await loadParents(trx, connectorId, [...affected.keys()]);
  const desired = new Map<string, string[]>(); // `${principal}\n${groupKey}` -> via
  for (const principal of affected.keys()) {
    for (const [group, via] of inheritedGroups(principal, parents)) desired.set(`${principal}\n${memberKey(group)}`, via);
  }

  const ids = [...affected.keys()];
  const existing: { principal_external_id: string; entitlement_key: string; via: string[] }[] = [];
  for (const chunk of chunks(ids, 5000)) {
    existing.push(
      ...(await trx
        .selectFrom('grants')
        .select(['principal_external_id', 'entitlement_key', 'via'])
        .where('connector_id', '=', connectorId)
        .where('direct', '=', false)
        .where('principal_external_id', 'in', chunk)
        .where('entitlement_key', 'like', 'GROUP:%:member')
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
      WHERE g.connector_id = ${connectorId} AND g.direct = false AND g.principal_external_id = d.p AND g.entitlement_key = d.k`.execute(trx);
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
        oc.columns(['connector_id', 'entitlement_key', 'principal_external_id', 'direct']).doUpdateSet((eb) => ({ via: eb.ref('excluded.via'), updated_at: sql`now()` })),
      )
      .execute();
  }
}

/** Direct group memberships of the principals and, transitively, of every group above them. */
async function loadParents(trx: Transaction<Database>, connectorId: string, start: string[]): Promise<Map<string, string[]>> {
  const parents = new Map<string, string[]>();
  let frontier = start;
  while (frontier.length > 0) {
    for (const id of frontier) parents.set(id, []);
    const next = new Set<string>();
    for (const chunk of chunks(frontier, 5000)) {
      const rows = await trx
        .selectFrom('grants')
        .select(['principal_external_id', 'entitlement_key'])
        .where('connector_id', '=', connectorId)
        .where('direct', '=', true)
        .where('principal_external_id', 'in', chunk)
        .where('entitlement_key', 'like', 'GROUP:%:member')
        .execute();
      for (const r of rows) {
        const group = MEMBER_KEY.exec(r.entitlement_key)?.[1];
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

/** Groups the principal reaches through at least one intermediate group, with the shortest path. */
export function inheritedGroups(principal: string, parents: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const expanded = new Set<string>();
  // path = groups from the principal's direct group outwards
  const queue: string[][] = [];
  for (const g of parents.get(principal) ?? []) {
    if (g === principal || expanded.has(g)) continue;
    expanded.add(g);
    queue.push([g]);
  }
  for (let i = 0; i < queue.length; i++) {
    const path = queue[i]!;
    const at = path[path.length - 1]!;
    for (const up of parents.get(at) ?? []) {
      if (up === principal) continue;
      if (!out.has(up)) out.set(up, [...path].reverse().map(memberKey));
      if (!expanded.has(up)) {
        expanded.add(up);
        queue.push([...path, up]);
      }
    }
  }
  return out;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
