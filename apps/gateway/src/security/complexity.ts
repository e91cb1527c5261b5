import { getVariableValues, separateOperations, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE } from '../pagination/cursor';
import { limitError } from './limit-error';

/** A connection field costs its page size times what each node costs, so `first` drives the price. */
const connectionEstimator: ComplexityEstimator = ({ args, childComplexity, field }) => {
  const typeName = String(field.type).replace(/[![\]]/g, '');
  if (!typeName.endsWith('Connection')) return undefined;
  const first = typeof args['first'] === 'number' ? args['first'] : DEFAULT_PAGE_SIZE;
  return 1 + (Math.max(first, 1) * Math.max(childComplexity, 1)) / 10;
};

/**
 * graphql-query-complexity walks fragments again at every spread and gives up (throws) after this
 * many nodes; a document that big cannot be costed and is refused.
 */
export const MAX_COSTED_NODES = 10_000;

export function complexityOf(schema: GraphQLSchema, query: DocumentNode, variables: Record<string, unknown>): number {
  return getComplexity({
    schema,
    query,
    variables,
    maxQueryNodes: MAX_COSTED_NODES,
    estimators: [connectionEstimator, simpleEstimator({ defaultComplexity: 1 })],
  });
}

/**
 * The key under which an operation's cost is remembered. The estimators read only numbers (`first`)
 * and the booleans of @include/@skip from the variables, never a string, so strings (ids, search
 * terms: what changes from one request to the next) are left out and one entry serves every id of a
 * dashboard's query. The variables are still coerced on every request (see costCheck).
 */
export function costKey(operationName: string | null | undefined, variables: unknown, query: string): string {
  return `${operationName ?? ''}\u0000${JSON.stringify(variables ?? {}, (_k, v: unknown) => (typeof v === 'string' ? '' : v))}\u0000${query}`;
}

export type CostCheck = (
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
  cacheKey?: string,
) => void;

/**
 * Prices an operation (with its variables, so `first: $n` counts) and throws a limit error when it
 * costs more than `max` or cannot be costed at all. Fails closed: only variables that do not coerce
 * are let through, because execution then refuses them itself (BAD_USER_INPUT) before anything runs.
 */
export function costCheck(schema: GraphQLSchema, max: number): CostCheck {
  // Dashboards repeat the same documents: remember each (document, operation, variables) cost.
  const costs = new Map<string, number>();
  return (document, operation, variables, cacheKey) => {
    const vars = variables ?? {};
    // Coerced every time, cached or not: a value that does not coerce is let through to execution.
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], vars, { maxErrors: 1 });
    if (coerced.errors) return;
    let cost = cacheKey === undefined ? undefined : costs.get(cacheKey);
    if (cost === undefined) {
      const name = operation.name?.value;
      const ops = separateOperations(document);
      const doc = name ? ops[name] : Object.values(ops)[0];
      try {
        if (!doc) throw new Error('operation not found');
        cost = complexityOf(schema, doc, vars);
      } catch {
        cost = Number.POSITIVE_INFINITY;
      }
      if (!Number.isFinite(cost) || Number.isNaN(cost)) cost = Number.POSITIVE_INFINITY;
      if (cacheKey !== undefined) {
        if (costs.size >= 1000) costs.delete(costs.keys().next().value as string);
        costs.set(cacheKey, cost);
      }
    }
    if (cost === Number.POSITIVE_INFINITY) {
      throw limitError(
        `the query cannot be costed (more than ${MAX_COSTED_NODES} fields once its fragments are expanded); ask for fewer fields or fragments`,
        operation,
      );
    }
    if (cost > max)
      throw limitError(
        `the query is too expensive (estimated cost ${Math.round(cost)}, at most ${max}); ask for fewer rows or fields`,
        operation,
      );
  };
}
