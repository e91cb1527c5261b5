import type { ApolloServerPlugin, GraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { GatewayContext } from '../context';
import type { Caller } from '../auth/roles';
import type { ChangeFeed } from './change-feed';
import type { CallerScope } from './caller-scope';

interface Entry {
  generation: number;
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
}

/**
 * Whole-response cache for queries, keyed by document, operation name, variables and the caller's
 * role (or the caller themself, for documents that select a caller-scoped field: see CallerScope),
 * and valid for one generation of the database's change feed.
 *
 * Why it is correct: an entry carries the generation current when its request STARTED. Any change
 * committed after that start is announced after its commit and moves the generation on, which retires
 * the entry; a change committed before the start moved the generation before the entry was tagged.
 * What a hit can miss is only a change whose notification is still in flight (Postgres delivers it
 * right after commit). Nothing is cached or served while the feed is down.
 *
 * Only error-free results of `query` operations by authenticated callers are stored. A field whose
 * answer depends on the caller is declared with `@Extensions(CALLER_SCOPED)`; a resolver whose
 * answer must never be reused sets `ctx.uncacheable = true`.
 */
export class ResponseCache {
  private readonly entries: LRUCache<string, Entry>;
  readonly stats: ResponseCacheStats = { hits: 0, misses: 0 };

  constructor(
    readonly feed: ChangeFeed,
    readonly scope: CallerScope,
    maxBytes: number,
    private readonly count: (outcome: 'hit' | 'miss') => void = () => undefined,
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

  lookup(key: string): Entry | null {
    if (!this.feed.live) return null;
    const e = this.entries.get(key);
    if (e && e.generation === this.feed.generation) {
      this.stats.hits++;
      this.count('hit');
      return e;
    }
    if (e) this.entries.delete(key);
    this.stats.misses++;
    this.count('miss');
    return null;
  }

  store(key: string, generation: number, result: FormattedExecutionResult): void {
    // A change heard while the request ran would retire the entry at once: do not bother.
    if (!this.feed.live || generation !== this.feed.generation) return;
    this.entries.set(key, { generation, json: `${JSON.stringify(result)}\n` });
  }

  plugin(): ApolloServerPlugin<GatewayContext> {
    return {
      requestDidStart: async () => {
        let key: string | null = null;
        let generation = 0;
        let served = false;
        return {
          responseForOperation: async ({ operation, request, contextValue }): Promise<GraphQLResponse | null> => {
            if (operation.operation !== 'query' || !contextValue.caller || request.query === undefined) return null;
            key = this.keyFor(contextValue.caller, request.operationName, request.variables, request.query);
            generation = this.feed.generation;
            const hit = this.lookup(key);
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
          willSendResponse: async ({ response, contextValue, errors }) => {
            if (key === null || served || contextValue.uncacheable || (errors?.length ?? 0) > 0) return;
            if (response.body.kind !== 'single' || response.body.singleResult.errors?.length) return;
            this.store(key, generation, response.body.singleResult);
          },
        };
      },
    };
  }
}
