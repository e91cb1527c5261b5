import type { ServedTable } from '@warden/database';
import type { GatewayContext } from '../context';

/**
 * What an answer is read from, declared where the data is served, so the response cache retires an
 * answer only when one of its tables changes for one of its connectors (ChangeFeed.changedSince):
 *
 * - `@Extensions(reads('grants'))` on an object type: selecting any field of that type reads these
 *   tables (its row and whatever its own field resolvers read that is not another declared type).
 *   Connection and edge types read what their node type reads; PageInfo reads nothing.
 * - `@Extensions(reads(...))` on a root Query field: what the field reads besides the types it
 *   returns (lookups, checks). A root field or a reachable object type without a declaration reads
 *   every table, so forgetting one costs hits, never freshness.
 * - `@Extensions(CONNECTOR_SCOPED)` on a root Query field whose whole answer lies in one connector
 *   (rows of that connector and relations inside it); its resolver names the connector with
 *   `readsConnector(ctx, id)` before it reads anything, or `null` when it cannot tell. An answer is
 *   kept per connector only when every root field it selects is connector-scoped.
 * - `@Extensions(GRANTS_BY_KEY)` on a field that returns grants of one entitlement or one principal
 *   (see below): an answer that reaches grants only through such fields is retired by changes to
 *   those rows, not by every grant or revoke of its connector.
 */
export function reads(...tables: ServedTable[]): { reads: ServedTable[] } {
  return { reads: tables };
}

export const CONNECTOR_SCOPED = { connectorScoped: true } as const;

/**
 * Tables whose change notifications name the rows they changed (migration 0017: the entitlement keys
 * and principals of changed grants), so an answer that read only some of their rows can be kept
 * through changes to the others.
 */
export const ROW_KEYED_TABLES: readonly ServedTable[] = ['grants'];

/**
 * `@Extensions(GRANTS_BY_KEY)` on a field returning grants whose resolver names the rows it reads with
 * `readsGrantsOf` before reading them. A document keeps its grants per row only when every field
 * through which it reaches grants is so marked (CallerScope); otherwise per connector, as before.
 */
export const GRANTS_BY_KEY = { rowKeyed: ['grants'] } as const;

/** The change-feed key of the grants of one entitlement (`e`) or one principal (`p`) in a connector. */
export function grantRowKey(connectorId: string, kind: 'e' | 'p', key: string): string {
  return `grants|${connectorId}|${kind}=${key}`;
}

/**
 * Called by a GRANTS_BY_KEY field's resolver with the filter it reads grants by: the rows of one
 * entitlement or one principal (a pair is within both; its entitlement's rows are named). Without
 * either, the answer depends on every grant of the connector.
 */
export function readsGrantsOf(
  ctx: GatewayContext,
  connectorId: string,
  filter: { entitlementKey?: string; principalExternalId?: string },
): void {
  if (ctx.readRows === null) return;
  if (filter.entitlementKey !== undefined) (ctx.readRows ??= new Set()).add(grantRowKey(connectorId, 'e', filter.entitlementKey));
  else if (filter.principalExternalId !== undefined)
    (ctx.readRows ??= new Set()).add(grantRowKey(connectorId, 'p', filter.principalExternalId));
  else ctx.readRows = null;
}

/** Called by a CONNECTOR_SCOPED root field's resolver: its answer is read from this connector (null: any). */
export function readsConnector(ctx: GatewayContext, connectorId: string | null): void {
  if (connectorId === null) ctx.readConnectors = null;
  else if (ctx.readConnectors !== null) (ctx.readConnectors ??= new Set()).add(connectorId);
}
