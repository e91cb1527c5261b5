import type { NextFunction, Request, Response } from 'express';
import type { Caller } from '../auth/roles';
import { readPlainRequest } from '../execution/plain-request';
import type { ResponseCache } from './response-cache';

interface FastPathDeps {
  cache: ResponseCache;
  /** The same check Apollo's context runs (bearer token or session cookie); a bad one throws and is left to Apollo to answer. */
  authenticate(req: Request): Promise<Caller | null>;
  onHit(operationName: string | null): void;
}

/**
 * Answers a POSTed query from the response cache before Apollo sees it. An entry exists only for a
 * (role or caller, document, operation, variables) that Apollo already parsed, validated, priced and executed
 * without errors as a query, and all of that is decided by those inputs alone, so Apollo would
 * answer a hit with these very bytes; skipping it saves most of the CPU a hit costs. Anything
 * unusual (no or bad token, GET, extensions, a client asking for another media type) goes to Apollo.
 */
export function httpFastPath(deps: FastPathDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const plain = await readPlainRequest(req, deps.authenticate);
    if (!plain) return next();
    const { query, operationName, variables, caller } = plain;
    const hit = await deps.cache.lookup(deps.cache.keyFor(caller, operationName, variables, query), query, operationName ?? null);
    if (!hit) return next();
    deps.onHit(operationName ?? null);
    res.status(200).setHeader('content-type', 'application/json; charset=utf-8');
    res.end(hit.json);
  };
}
