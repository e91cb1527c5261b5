import type { Kysely } from 'kysely';
import type { Database } from '@warden/database';
import type { ExpectedModel } from './expected';

/** Stable JSON (sorted keys) so jsonb round trips compare equal. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export interface Difference {
  table: 'resources' | 'entitlements' | 'grants';
  key: string;
  problem: 'missing' | 'unexpected' | 'different';
  expected?: string;
  actual?: string;
}

export interface DiffReport {
  differences: Difference[];
  /** scopedRoles: grants of directory roles over an administrative unit or application (`…:assigned@<scope>`). */
  counts: { resources: number; entitlements: number; grants: number; inherited: number; scopedRoles: number };
}

/**
 * Everything the connector holds compared with the expected model, row by row and field by field.
 * Returns at most `limit` differences (the test prints them) plus the row counts.
 */
/**
 * A user row may lack the keys other stages own until they run (the sign-in stage runs on its own
 * schedule; a user created in an incremental round carries no manager when it has none): absent = null.
 */
function withUserDefaults(type: string, profile: unknown): unknown {
  if (type !== 'USER') return profile;
  return {
    managerId: null,
    lastSignInDateTime: null,
    lastNonInteractiveSignInDateTime: null,
    lastSuccessfulSignInDateTime: null,
    ...(profile as Record<string, unknown>),
  };
}

export async function diffDatabase(db: Kysely<Database>, connectorId: string, want: ExpectedModel, limit = 25): Promise<DiffReport> {
  const out: Difference[] = [];
  const push = (d: Difference) => {
    if (out.length < limit) out.push(d);
  };
  const compare = <T>(table: Difference['table'], actual: Map<string, string>, expected: Map<string, T>, render: (t: T) => string) => {
    for (const [k, v] of expected) {
      const a = actual.get(k);
      const e = render(v);
      if (a === undefined) push({ table, key: k, problem: 'missing', expected: e });
      else if (a !== e) push({ table, key: k, problem: 'different', expected: e, actual: a });
    }
    for (const [k, a] of actual) if (!expected.has(k)) push({ table, key: k, problem: 'unexpected', actual: a });
  };

  const resources = await db
    .selectFrom('resources')
    .select(['external_id', 'type', 'display_name', 'profile', 'search_text'])
    .where('connector_id', '=', connectorId)
    .execute();
  compare(
    'resources',
    new Map(
      resources.map((r) => [
        r.external_id,
        canonical({ type: r.type, displayName: r.display_name, profile: withUserDefaults(r.type, r.profile), searchText: r.search_text }),
      ]),
    ),
    want.resources,
    (e) => canonical(e),
  );
  const ents = await db
    .selectFrom('entitlements')
    .select(['key', 'resource_external_id', 'resource_type', 'slug', 'display_name', 'grantable', 'app_role_id', 'metadata'])
    .where('connector_id', '=', connectorId)
    .execute();
  compare(
    'entitlements',
    new Map(
      ents.map((e) => [
        e.key,
        canonical({
          resourceExternalId: e.resource_external_id,
          resourceType: e.resource_type,
          slug: e.slug,
          displayName: e.display_name,
          grantable: e.grantable,
          appRoleId: e.app_role_id,
          metadata: e.metadata,
        }),
      ]),
    ),
    want.entitlements,
    (e) => canonical(e),
  );
  const grants = await db
    .selectFrom('grants')
    .select(['entitlement_key', 'principal_external_id', 'principal_kind', 'direct', 'via', 'expires_at', 'graph_assignment_id'])
    .where('connector_id', '=', connectorId)
    .execute();
  const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
  compare(
    'grants',
    new Map(
      grants.map((g) => [
        `${g.entitlement_key}\n${g.principal_external_id}\n${g.direct}`,
        canonical({ kind: g.principal_kind, via: g.via, expiresAt: iso(g.expires_at), graphAssignmentId: g.graph_assignment_id }),
      ]),
    ),
    want.grants,
    (e) => canonical({ ...e, expiresAt: iso(e.expiresAt) }),
  );
  return {
    differences: out,
    counts: {
      resources: resources.length,
      entitlements: ents.length,
      grants: grants.length,
      inherited: grants.filter((g) => !g.direct).length,
      scopedRoles: grants.filter((g) => g.entitlement_key.startsWith('DIRECTORY_ROLE:') && g.entitlement_key.includes(':assigned@')).length,
    },
  };
}
