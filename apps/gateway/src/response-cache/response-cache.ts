import type { ApolloServerPlugin, GraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { GatewayContext } from '../context';
import type { Caller } from '../auth/roles';
import type { ChangeFeed, ReadScope } from './change-feed';
import type { CallerScope } from './caller-scope';

interface Entry extends ReadScope {
  /** The change feed's sequence number when the request that produced it started. */
  since: number;
  /** The body as Apollo serialises it (JSON plus a newline), sent as-is by the HTTP fast path. */
  json: string;
}

/** One key for the plugin and the HTTP fast path: both must agree byte for byte. */
export function cacheKey(partition: string, operationName: string | null | undefined, variables: unknown, query: string): string {
  return `${partition}\u0000${operationName ?? ''}\u0000${JSON.stringify(variables ?? {})}\u0000${query}`;
}

export interface ResponseCacheStats {
  hits: number;
  misses: number;
  /** Lookups that found an entry retired by a change since it was read. */
  stale: number;
}

export type LookupOutcome = 'hit' | 'miss' | 'stale';

/**
 * Whole-response cache for queries, keyed by document, operation name, variables and the caller's
 * role (or the caller themself, for documents that select a caller-scoped field: see CallerScope).
 *
 * Why it is correct: an entry carries the change feed's sequence number when its request STARTED,
 * and what it was read from (tables and connectors, see read-scope.ts). Any change committed after
 * that start is heard after it and gets a later number for its table and connectors, which retires
 * the entry; a change committed before the start was either heard before it (and the request saw
 * it) or gets a later number too. Before a hit is served the feed catches up (ChangeFeed.caughtUp: a
 * marker round trip shared by every hit waiting for it), so a change committed before the request
 * arrived — a grant whose task the client saw succeed, this replica's own mutation — has always been
 * heard: no stale answer, not even for the time a notification is in flight. Nothing is cached or
 * served while the feed is down.
 *
 * Only error-free results of `query` operations by authenticated callers are stored. A field whose
 * answer depends on the caller is declared with `@Extensions(CALLER_SCOPED)`; a resolver whose
 * answer must never be reused sets `ctx.uncacheable = true`.
 */
export class ResponseCache {
  private readonly entries: LRUCache<string, Entry>;
  readonly stats: ResponseCacheStats = { hits: 0, misses: 0, stale: 0 };

  constructor(
    readonly feed: ChangeFeed,
    readonly scope: CallerScope,
    maxBytes: number,
    /** Told every lookup's outcome with the request's operation name (the metric's labels). */
    private readonly count: (outcome: LookupOutcome, operationName: string | null) => void = () => undefined,
  ) {
    this.entries = new LRUCache<string, Entry>({ maxSize: maxBytes, sizeCalculation: (e) => Math.max(1, e.json.length * 2) });
  }

  /** The key of `caller`'s answer to this request. */
  keyFor(caller: Caller, operationName: string | null | undefined, variables: unknown, query: string): string {
    return cacheKey(this.scope.partition(caller, query), operationName, variables, query);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The current answer under `key`, once every change committed before the call has been heard. */
  async lookup(key: string, query: string, operationName: string | null = null): Promise<Entry | null> {
    operationName ??= this.scope.operationNameOf(query);
    if (!this.feed.live || !this.entries.has(key)) return this.outcome('miss', null, operationName);
    try {
      await this.feed.caughtUp();
    } catch {
      return this.outcome('miss', null, operationName);
    }
    const e = this.entries.get(key);
    if (!this.feed.live || !e) return this.outcome('miss', null, operationName);
    if (this.feed.changedSince(e.since, e)) {
      this.entries.delete(key);
      return this.outcome('stale', null, operationName);
    }
    return this.outcome('hit', e, operationName);
  }

  private outcome(outcome: LookupOutcome, e: Entry | null, operationName: string | null): Entry | null {
    this.stats[outcome === 'hit' ? 'hits' : outcome === 'miss' ? 'misses' : 'stale']++;
    this.count(outcome, operationName);
    return e;
  }

  /** Keeps an answer (its body as sent: JSON and a newline) read by a request that started at sequence `since` from `scope`. */
  store(key: string, since: number, scope: ReadScope, json: string): void {
    // A change heard while the request ran would retire the entry at once: do not bother.
    if (!this.feed.live || this.feed.changedSince(since, scope)) return;
    this.entries.set(key, { since, tables: scope.tables, connectors: scope.connectors, rows: scope.rows, json });
  }

  /** What the answer to `query` was read from, given the connectors its resolvers named. */
  readScope(query: string, contextValue: GatewayContext): ReadScope {
    const doc = this.scope.of(query);
    const connectors = doc.connectorScoped && contextValue.readConnectors ? [...contextValue.readConnectors] : null;
    const scope = { tables: doc.tables, connectors: connectors && connectors.length > 0 ? connectors : null };
    // Tables the document reaches only through row-keyed fields are watched per row, unless a resolver
    // could not name its rows (then the whole table of the connector, as for any other table).
    if (doc.tables === null || doc.rowKeyed.length === 0 || contextValue.readRows === null) return scope;
    return { ...scope, tables: doc.tables.filter((t) => !doc.rowKeyed.includes(t)), rows: [...(contextValue.readRows ?? [])] };
  }

  plugin(): ApolloServerPlugin<GatewayContext> {
    return {
      requestDidStart: async () => {
        let key: string | null = null;
        let since = 0;
        let served = false;
        return {
          responseForOperation: async ({ operation, request, contextValue }): Promise<GraphQLResponse | null> => {
            if (operation.operation !== 'query' || !contextValue.caller || request.query === undefined) return null;
            key = this.keyFor(contextValue.caller, request.operationName, request.variables, request.query);
            since = this.feed.sequence;
            const hit = await this.lookup(key, request.query, request.operationName ?? null);
            served = hit !== null;
            // Only the bytes are kept (half the memory); requests that reach Apollo on a hit (GET, other
            // media types) are rare enough to parse them again.
            return hit
              ? {
                  http: { status: undefined, headers: new HeaderMap() },
                  body: { kind: 'single', singleResult: JSON.parse(hit.json) as FormattedExecutionResult },
                }
              : null;
          },
          willSendResponse: async ({ response, contextValue, errors, request }) => {
            if (key === null || served || contextValue.uncacheable || (errors?.length ?? 0) > 0 || request.query === undefined) return;
            if (response.body.kind !== 'single' || response.body.singleResult.errors?.length) return;
            this.store(key, since, this.readScope(request.query, contextValue), `${JSON.stringify(response.body.singleResult)}\n`);
          },
        };
      },
    };
  }
}
