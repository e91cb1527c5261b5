import { sql } from 'kysely';
import type { PrincipalKind } from '@warden/database';
import type { DirectGrantInput } from '../model';
import type { RunSession } from '../runs/session';
import { pairKey, type AdditionGuard } from '../writers/grants';
import { readCollections } from './graph-batch';

const GROUP_LINK = /^GROUP:([^:]+):(member|owner)$/;
const APP_KEY = /^ENTERPRISE_APPLICATION:([^:]+):(.+)$/;
const COLLECTION: Record<PrincipalKind, string> = { USER: 'users', GROUP: 'groups', SERVICE_PRINCIPAL: 'servicePrincipals' };

/** A guard whose doubtful pairs are asked of Graph (`graphHolds`). */
export function verifiedGuard(s: RunSession, since: string, counters: Record<string, number>): AdditionGuard {
  return { since, counters, verify: (rows) => graphHolds(s, rows, counters) };
}

/**
 * Asks Graph whether it holds each pair now, one `$batch` item per pair (these are the few pairs a
 * revoke touched while the stage read, not a listing):
 * - group member / owner: `GET /groups/{id}/members?$filter=id eq '{principal}'` (owners likewise),
 *   an advanced query (ConsistencyLevel: eventual, $count) — group-list-members.md;
 * - app role assignment: `GET /{users|groups|servicePrincipals}/{principal}/appRoleAssignments?$filter=resourceId eq {app}`,
 *   held if one of them is the entitlement's app role — user-list-approleassignments.md;
 * - app owner: the app's owners (`/servicePrincipals/{id}/owners`, a short list).
 * Any other kind, and any answer other than 200, counts as not held: the pair is left to the next
 * round (`additionsUnverified`).
 */
export async function graphHolds(
  s: RunSession,
  rows: readonly DirectGrantInput[],
  counters: Record<string, number>,
): Promise<{ held: Map<string, string | null>; checkedAt: string }> {
  const checkedAt = await s.dbNow();
  const held = new Map<string, string | null>();
  const links: { row: DirectGrantInput; url: string }[] = [];
  const plain: { row: DirectGrantInput; url: string; match: (item: Record<string, unknown>) => boolean }[] = [];
  const appRoleKeys = rows
    .filter((r) => APP_KEY.test(r.entitlementKey) && !r.entitlementKey.endsWith(':owner'))
    .map((r) => r.entitlementKey);
  const roleOf = new Map<string, string>();
  if (appRoleKeys.length) {
    const ents = await sql<{ key: string; app_role_id: string | null }>`
      SELECT key, app_role_id FROM entitlements WHERE connector_id = ${s.connectorId}::uuid AND key = ANY(${appRoleKeys}::text[])`.execute(
      s.db,
    );
    for (const e of ents.rows) if (e.app_role_id) roleOf.set(e.key, e.app_role_id.toLowerCase());
  }
  let unverifiable = 0;
  for (const row of rows) {
    const p = row.principalExternalId;
    const group = GROUP_LINK.exec(row.entitlementKey);
    if (group) {
      const rel = group[2] === 'member' ? 'members' : 'owners';
      links.push({ row, url: `/groups/${group[1]}/${rel}?$filter=id eq '${p}'&$count=true&$select=id` });
      continue;
    }
    const app = APP_KEY.exec(row.entitlementKey);
    if (app && app[2] === 'owner') {
      plain.push({ row, url: `/servicePrincipals/${app[1]}/owners?$select=id&$top=999`, match: (i) => i['id'] === p });
      continue;
    }
    const role = roleOf.get(row.entitlementKey);
    if (app && role) {
      plain.push({
        row,
        url: `/${COLLECTION[row.principalKind]}/${p}/appRoleAssignments?$filter=resourceId eq ${app[1]}&$select=id,appRoleId,resourceId`,
        match: (i) => typeof i['appRoleId'] === 'string' && i['appRoleId'].toLowerCase() === role,
      });
      continue;
    }
    unverifiable++;
  }
  const [linkResults, plainResults] = await Promise.all([
    links.length
      ? readCollections(
          s,
          links.map((l) => l.url),
          { headers: { ConsistencyLevel: 'eventual' } },
        )
      : [],
    plain.length
      ? readCollections(
          s,
          plain.map((q) => q.url),
        )
      : [],
  ]);
  links.forEach((l, i) => {
    const r = linkResults[i]!;
    if (r.status !== 200 && r.status !== 404) unverifiable++;
    else if ((r.items as Record<string, unknown>[]).some((it) => it['id'] === l.row.principalExternalId))
      held.set(pairKey(l.row.entitlementKey, l.row.principalExternalId), null);
  });
  plain.forEach((q, i) => {
    const r = plainResults[i]!;
    // 404: the principal or the app is gone, so nothing is held.
    if (r.status !== 200 && r.status !== 404) unverifiable++;
    else {
      const item = (r.items as Record<string, unknown>[]).find(q.match);
      if (item) held.set(pairKey(q.row.entitlementKey, q.row.principalExternalId), typeof item['id'] === 'string' ? item['id'] : null);
    }
  });
  if (unverifiable) counters['additionsUnverified'] = (counters['additionsUnverified'] ?? 0) + unverifiable;
  return { held, checkedAt };
}
