import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import {
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Caller } from '../auth/roles';
import type { PlainRequest } from './plain-request';
import type { GatewayContext } from '../context';
import type { ResponseCache } from '../response-cache/response-cache';
import type { QueryLimits } from '../security/limits';
import { costKey } from '../security/complexity';

interface LeanPathDeps {
  schema: GraphQLSchema;
  limits: QueryLimits;
  cache: ResponseCache | null;
  context(caller: Caller, requestId: string): GatewayContext;
  onAnswered(operationName: string | null): void;
}

/**
 * A document as parsed and validated once, with its operations compiled on first use (graphql-jit:
 * one JavaScript function per operation instead of graphql-js walking the document on every
 * request); null when Apollo must answer it (errors to report).
 */
type Prepared = { document: DocumentNode; compiled: Map<string, CompiledQuery | null> } | null;

/**
 * Runs a plain POSTed query (execution/plain-request.ts: an authenticated caller, nothing unusual)
 * without Apollo's request pipeline when nothing about it needs Apollo: a document that parses and
 * validates under the same rules (kept parsed and validated per document text), an operation that
 * passes the same limits, and an execution without a single error. Then the answer is
 * `JSON.stringify(result)` plus a newline, which the caller (http/query-fast-path.ts) sends with
 * status 200 and `application/json; charset=utf-8` — the bytes Apollo sends for it
 * (test/lean-path.test.ts compares them). Anything else — a refusal, a GraphQL error — is null and
 * goes on to Apollo, which answers it as always (queries only read, so running one again there is
 * safe). What Apollo would spend per request on a success (plugins, request hashing, its own
 * document store) is saved.
 */
export interface LeanPathStats {
  /** Requests answered here. */
  answered: number;
  /** Requests that reached execution here but were left to Apollo (errors, or a refusal). */
  handedOver: number;
}

export function leanQueryPath(deps: LeanPathDeps, stats: LeanPathStats = { answered: 0, handedOver: 0 }) {
  const documents = new LRUCache<string, { prepared: Prepared }>({ max: 1_000 });
  const rules = [...specifiedRules, ...deps.limits.validationRules];
  const prepare = (query: string): Prepared => {
    const known = documents.get(query);
    if (known) return known.prepared;
    let prepared: Prepared = null;
    try {
      const document = parse(query, deps.limits.parseOptions);
      if (validate(deps.schema, document, rules).length === 0) prepared = { document, compiled: new Map() };
    } catch {
      prepared = null;
    }
    documents.set(query, { prepared });
    return prepared;
  };

  /** The JSON answer to send (status 200), or null when Apollo must answer. */
  return async (plain: PlainRequest, requestId: string): Promise<string | null> => {
    const { query, operationName, variables, caller } = plain;
    const prepared = prepare(query);
    if (!prepared) return null;
    const operation: OperationDefinitionNode | null | undefined = getOperationAST(prepared.document, operationName ?? undefined);
    if (!operation || operation.operation !== 'query') return null;
    try {
      deps.limits.checkOperation(prepared.document, operation, variables, caller, costKey(operationName, variables, query));
    } catch {
      return null;
    }
    const since = deps.cache?.feed.sequence ?? 0;
    const contextValue = deps.context(caller, requestId);
    let compiled = prepared.compiled.get(operationName ?? '');
    if (compiled === undefined) {
      const c = compileQuery(deps.schema, prepared.document, operationName ?? undefined);
      compiled = isCompiledQuery(c) ? c : null;
      prepared.compiled.set(operationName ?? '', compiled);
    }
    if (!compiled) return null;
    let result: ExecutionResult;
    try {
      result = await compiled.query(undefined, contextValue, variables ?? {});
    } catch {
      result = { errors: [] };
    }
    if (result.errors !== undefined || result.extensions !== undefined) {
      stats.handedOver++;
      return null;
    }
    const json = `${JSON.stringify({ data: result.data })}\n`;
    if (deps.cache && !contextValue.uncacheable) {
      deps.cache.store(deps.cache.keyFor(caller, operationName, variables, query), since, deps.cache.readScope(query, contextValue), json);
    }
    stats.answered++;
    // Labelled by the operation's own name, as Apollo does (the body's operationName may be absent).
    deps.onAnswered(operation.name?.value ?? null);
    return json;
  };
}
