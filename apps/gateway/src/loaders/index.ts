import DataLoader from 'dataloader';
import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import { CONNECTOR_PUBLIC_COLUMNS, type ConnectorPublicRow } from '../modules/connectors/connector.type';
import { ENTITLEMENT_COLUMNS, type EntitlementListRow } from '../modules/entitlements/entitlement.type';
import { RESOURCE_COLUMNS, type ResourceListRow } from '../modules/resources/resource.type';
import { SYNC_RUN_COLUMNS, type SyncRunListRow } from '../modules/sync-runs/sync-run.type';
import { isUuid } from '../pagination/cursor';
import { Statements } from '../execution/statements';

/** `${connectorId}|${naturalKey}`: the tables are keyed by connector plus Graph id or entitlement key. */
export const scoped = (connectorId: string, key: string) => `${connectorId}|${key}`;
const split = (k: string): [string, string] => {
  const i = k.indexOf('|');
  return [k.slice(0, i), k.slice(i + 1)];
};

/**
 * `(a, b) IN (unnest(uuid[], text[]))`: one bound pair of arrays however many keys a page needs, so
 * the statement text is the same for every batch and is built once (Statements).
 */
function pairsIn(a: string, b: string) {
  return sql<boolean>`(${sql.ref(a)}, ${sql.ref(b)}) IN (SELECT * FROM unnest(${Statements.param<string[]>(0)}::uuid[], ${Statements.param<string[]>(1)}::text[]))`;
}
const pairValues = (pairs: [string, string][]): [string[], string[]] => {
  const valid = pairs.filter((p) => isUuid(p[0]));
  return [valid.map((p) => p[0]), valid.map((p) => p[1])];
};

/** Columns `<prefix>_<name>` of a joined row, or null when the join found nothing (names built once, not per row). */
export function joined<T>(row: Record<string, unknown>, aliases: readonly (readonly [string, string])[]): T | null {
  if (row[aliases[0]![1]] == null) return null;
  const out: Record<string, unknown> = {};
  for (const [column, alias] of aliases) out[column] = row[alias];
  return out as T;
}
/** `[column, alias]` pairs for a relation joined as `<prefix>_<column>`; `id` first when `joined` is to test it. */
export const aliasesOf = (prefix: string, columns: readonly string[]) => columns.map((c) => [c, `${prefix}_${c}`] as const);

function byId<R extends { id: string }>(load: (ids: string[]) => Promise<R[]>) {
  return new DataLoader<string, R | null>(async (ids) => {
    const valid = ids.filter(isUuid);
    const rows = valid.length ? await load([...new Set(valid)]) : [];
    const map = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => map.get(id) ?? null);
  });
}

/**
 * One set per request, so a page of N rows resolves each relation with one SQL query however many
 * rows point at it, and no cache outlives the request (authorization and freshness stay per request).
 */
/** Rows by id, one statement text whatever the number of ids (`= ANY($1)`), built once (see Statements). */
function selectByIds<T extends 'connectors' | 'resources' | 'entitlements' | 'sync_runs', R>(
  statements: Statements<Database>,
  db: Kysely<Database>,
  table: T,
  columns: readonly string[],
) {
  const build = () =>
    db
      .selectFrom(table as 'connectors')
      .select(columns as unknown as 'id'[])
      .where(sql<boolean>`id = ANY(${Statements.param<string[]>(0)}::uuid[])`);
  return async (ids: string[]): Promise<R[]> => (await statements.run(`${table}:byId`, build, [ids])).rows as unknown as R[];
}

const processStatements = new WeakMap<Kysely<Database>, Statements<Database>>();

export function createLoaders(db: Kysely<Database>) {
  let statements = processStatements.get(db);
  if (!statements) processStatements.set(db, (statements = new Statements(db)));
  const connectorById = byId<ConnectorPublicRow>(selectByIds(statements, db, 'connectors', CONNECTOR_PUBLIC_COLUMNS));
  const syncRunById = byId<SyncRunListRow>(selectByIds(statements, db, 'sync_runs', SYNC_RUN_COLUMNS));

  const resourceByExternalId = new DataLoader<string, ResourceListRow | null>(async (keys) => {
    const build = () => db.selectFrom('resources').select(RESOURCE_COLUMNS).where(pairsIn('connector_id', 'external_id'));
    const rows = (await statements.run('resources:byExternalId', build, pairValues([...new Set(keys)].map(split)))).rows;
    const map = new Map(rows.map((r) => [scoped(r.connector_id, r.external_id), r]));
    return keys.map((k) => map.get(k) ?? null);
  });

  const entitlementByKey = new DataLoader<string, EntitlementListRow | null>(async (keys) => {
    const build = () => db.selectFrom('entitlements').select(ENTITLEMENT_COLUMNS).where(pairsIn('connector_id', 'key'));
    const rows = (await statements.run('entitlements:byKey', build, pairValues([...new Set(keys)].map(split)))).rows;
    const map = new Map(rows.map((r) => [scoped(r.connector_id, r.key), r]));
    return keys.map((k) => map.get(k) ?? null);
  });

  // A row loaded by id also answers its natural key: a page of grants under `resource(id)` or
  // `entitlement(id)` then finds its principal or entitlement without a join or another statement.
  const resourcesByIds = selectByIds<'resources', ResourceListRow>(statements, db, 'resources', RESOURCE_COLUMNS);
  const entitlementsByIds = selectByIds<'entitlements', EntitlementListRow>(statements, db, 'entitlements', ENTITLEMENT_COLUMNS);
  const resourceById = byId<ResourceListRow>(async (ids) => {
    const rows = await resourcesByIds(ids);
    for (const r of rows) resourceByExternalId.prime(scoped(r.connector_id, r.external_id), r);
    return rows;
  });
  const entitlementById = byId<EntitlementListRow>(async (ids) => {
    const rows = await entitlementsByIds(ids);
    for (const r of rows) entitlementByKey.prime(scoped(r.connector_id, r.key), r);
    return rows;
  });

  /** A resource's entitlements, keyed by `${connectorId}|${resourceExternalId}`. */
  const entitlementsByResource = new DataLoader<string, EntitlementListRow[]>(async (keys) => {
    const build = () =>
      db.selectFrom('entitlements').select(ENTITLEMENT_COLUMNS).where(pairsIn('connector_id', 'resource_external_id')).orderBy('key');
    const rows = (await statements.run('entitlements:byResource', build, pairValues([...new Set(keys)].map(split)))).rows;
    const map = new Map<string, EntitlementListRow[]>();
    for (const r of rows) {
      const k = scoped(r.connector_id, r.resource_external_id);
      const list = map.get(k) ?? [];
      list.push(r);
      map.set(k, list);
    }
    return keys.map((k) => map.get(k) ?? []);
  });

  /** Profiles of resources whose row came without one (grants pages join the brief columns only). */
  const resourceProfileById = new DataLoader<string, Record<string, unknown> | null>(async (ids) => {
    const valid = [...new Set(ids.filter(isUuid))];
    const build = () =>
      db
        .selectFrom('resources')
        .select(['id', 'profile'])
        .where(sql<boolean>`id = ANY(${Statements.param<string[]>(0)}::uuid[])`);
    const rows = valid.length ? (await statements.run('resources:profileById', build, [valid])).rows : [];
    const map = new Map(rows.map((r) => [r.id, r.profile]));
    return ids.map((id) => map.get(id) ?? null);
  });

  const lastSyncRunByConnector = new DataLoader<string, SyncRunListRow | null>(async (connectorIds) => {
    const ids = [...new Set(connectorIds)].filter(isUuid);
    const build = () =>
      db
        .selectFrom('sync_runs')
        .select(SYNC_RUN_COLUMNS)
        .distinctOn('connector_id')
        .where(sql<boolean>`connector_id = ANY(${Statements.param<string[]>(0)}::uuid[])`)
        .orderBy('connector_id')
        .orderBy('queued_at', 'desc')
        .orderBy('id', 'desc');
    const rows = ids.length ? (await statements.run('sync_runs:lastByConnector', build, [ids])).rows : [];
    const map = new Map(rows.map((r) => [r.connector_id, r]));
    return connectorIds.map((id) => map.get(id) ?? null);
  });

  return {
    connectorById,
    resourceById,
    entitlementById,
    syncRunById,
    resourceByExternalId,
    entitlementByKey,
    entitlementsByResource,
    resourceProfileById,
    lastSyncRunByConnector,
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
