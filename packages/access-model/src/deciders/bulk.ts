import { sql, type RawBuilder } from 'kysely';
import type { DeciderKind } from '@warden/database';

/**
 * Who decides, set-based: the single-request rule of `resolve.ts` (keep the two in step) (MANAGER = the principal's synced manager,
 * RESOURCE_OWNER = the Entra owners of the resource offering the entitlement, CONNECTOR_OWNER = the
 * connector's owners, USERS = the listed subjects; nobody, or only the principal itself, or the
 * campaign creator for their own access → the fallback subjects) as SQL expressions over a whole
 * campaign, so reviewers of 600k items are resolved inside one INSERT ... SELECT.
 *
 * Entra users are named by Graph object id (`oid`) within the connector: a caller is that user when
 * its token's `tid` is the connector's tenant and its `oid` the id (as `me` links identities).
 * Platform users are named by token subject.
 *
 * The expressions read these relations of the enclosing statement:
 * - `p`: the principal (a row of the statement's `people` relation: id, external_id, type, and
 *   `manager`, the Graph object id of its synced manager or null),
 * - `s`: the entitlement in scope, with `owners text[]` (scopeOwnersSql: once per entitlement, not per item),
 * - `mgr`: a LEFT JOIN with the manager's `people` row (managerJoinSql), needed for MANAGER only.
 */
export interface BulkDeciderParams {
  kind: DeciderKind;
  /** USERS: the reviewers; otherwise the fallback. Never empty (the caller checks). */
  fallbackSubjects: readonly string[];
  /** The connector's owners (CONNECTOR_OWNER). */
  connectorOwners: readonly string[];
  /** The campaign creator's subject and, when known, their Graph object id in this connector. */
  creatorSubject: string;
  creatorOid: string | null;
}

/** Entra users (oids) the rule names, the principal itself removed. */
export function ruleOidsSql(kind: DeciderKind): RawBuilder<string[]> {
  switch (kind) {
    case 'MANAGER':
      return sql<
        string[]
      >`CASE WHEN mgr.external_id IS NOT NULL AND mgr.external_id <> p.external_id THEN ARRAY[mgr.external_id] ELSE '{}'::text[] END`;
    case 'RESOURCE_OWNER':
      return sql<string[]>`array_remove(coalesce(s.owners, '{}'::text[]), p.external_id)`;
    default:
      return sql<string[]>`'{}'::text[]`;
  }
}

/** Platform subjects the rule names; the creator removed from their own items. */
export function ruleSubjectsSql(params: BulkDeciderParams): RawBuilder<string[]> {
  const listed = params.kind === 'CONNECTOR_OWNER' ? params.connectorOwners : params.kind === 'USERS' ? params.fallbackSubjects : [];
  return withoutCreatorSql(listed, params);
}

/** The fallback subjects of an item; the creator removed from their own items. */
export function fallbackSubjectsSql(params: BulkDeciderParams): RawBuilder<string[]> {
  return withoutCreatorSql(params.fallbackSubjects, params);
}

function withoutCreatorSql(subjects: readonly string[], params: BulkDeciderParams): RawBuilder<string[]> {
  const list = sql`${[...subjects]}::text[]`;
  if (!params.creatorOid) return sql<string[]>`${list}`;
  return sql<
    string[]
  >`CASE WHEN p.external_id = ${params.creatorOid} THEN array_remove(${list}, ${params.creatorSubject}::text) ELSE ${list} END`;
}

/** LEFT JOIN of the principal's manager: a synced user of the same connector (`people`). */
export function managerJoinSql(): RawBuilder<unknown> {
  return sql`LEFT JOIN people mgr ON mgr.type = 'USER' AND mgr.external_id = p.manager`;
}

/**
 * The Entra owners (users) of the resource offering entitlement `e` (an entitlements row): a column of
 * the scope. Directory roles have no owners (no `:owner` entitlement), so the fallback decides.
 */
export function scopeOwnersSql(connectorId: string, kind: DeciderKind): RawBuilder<string[] | null> {
  if (kind !== 'RESOURCE_OWNER') return sql<null>`NULL::text[]`;
  return sql<string[] | null>`(
      SELECT array_agg(o.principal_external_id ORDER BY o.principal_external_id)
      FROM grants o
      WHERE o.connector_id = ${connectorId} AND o.direct AND o.principal_kind = 'USER'
        AND o.entitlement_key = e.resource_type || ':' || e.resource_external_id || ':owner')`;
}
