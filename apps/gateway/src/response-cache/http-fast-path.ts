import type { PlainRequest } from '../execution/plain-request';
import type { ResponseCache } from './response-cache';

interface CachedAnswerDeps {
  cache: ResponseCache;
  onHit(operationName: string | null): void;
}

/**
 * Answers a plain POSTed query (see execution/plain-request.ts) from the response cache before
 * Apollo sees it: the JSON to send, or null on a miss. An entry exists only for a (role or caller,
 * document, operation, variables) that was already parsed, validated, priced and executed without
 * errors as a query, and all of that is decided by those inputs alone, so Apollo would answer a hit
 * with these very bytes; skipping it saves most of the CPU a hit costs. Where it runs (before
 * Express or inside it) is http/query-fast-path.ts's business.
 */
export function cachedAnswer(deps: CachedAnswerDeps) {
  return async (plain: PlainRequest): Promise<string | null> => {
    const { query, operationName, variables, caller } = plain;
    const hit = await deps.cache.lookup(deps.cache.keyFor(caller, operationName, variables, query), query, operationName ?? null);
    if (!hit) return null;
    deps.onHit(operationName ?? null);
    return hit.json;
  };
}
