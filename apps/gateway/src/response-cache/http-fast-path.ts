import type { NextFunction, Request, Response } from 'express';
import type { Caller } from '../auth/roles';
import type { ResponseCache } from './response-cache';

interface FastPathDeps {
  cache: ResponseCache;
  /** The same check Apollo's context runs (bearer token or session cookie); a bad one throws and is left to Apollo to answer. */
  authenticate(req: Request): Promise<Caller | null>;
  onHit(operationName: string | null): void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Answers a POSTed query from the response cache before Apollo sees it. An entry exists only for a
 * (role or caller, document, operation, variables) that Apollo already parsed, validated, priced and executed
 * without errors as a query, and all of that is decided by those inputs alone, so Apollo would
 * answer a hit with these very bytes; skipping it saves most of the CPU a hit costs. Anything
 * unusual (no or bad token, GET, extensions, a client asking for another media type) goes to Apollo.
 */
export function httpFastPath(deps: FastPathDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const body: unknown = req.body;
    if (req.method !== 'POST' || !isObject(body) || typeof body['query'] !== 'string' || body['extensions'] !== undefined) return next();
    const accept = req.headers.accept;
    if (accept !== undefined && accept !== '*/*' && accept !== 'application/json') return next();
    const operationName = body['operationName'];
    const variables = body['variables'];
    if (!(operationName === undefined || operationName === null || typeof operationName === 'string')) return next();
    if (!(variables === undefined || variables === null || isObject(variables))) return next();
    let caller: Caller | null;
    try {
      caller = await deps.authenticate(req);
    } catch {
      return next();
    }
    if (!caller) return next();
    const hit = await deps.cache.lookup(deps.cache.keyFor(caller, operationName, variables, body['query']));
    if (!hit) return next();
    deps.onHit(operationName ?? null);
    res.status(200).setHeader('content-type', 'application/json; charset=utf-8');
    res.end(hit.json);
  };
}
