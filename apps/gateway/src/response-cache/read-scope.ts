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
 */
export function reads(...tables: ServedTable[]): { reads: ServedTable[] } {
  return { reads: tables };
}

export const CONNECTOR_SCOPED = { connectorScoped: true } as const;

/** Called by a CONNECTOR_SCOPED root field's resolver: its answer is read from this connector (null: any). */
export function readsConnector(ctx: GatewayContext, connectorId: string | null): void {
  if (connectorId === null) ctx.readConnectors = null;
  else if (ctx.readConnectors !== null) (ctx.readConnectors ??= new Set()).add(connectorId);
}
