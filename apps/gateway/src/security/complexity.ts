import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, separateOperations, type GraphQLSchema } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { BadUserInputError } from '../errors';
import { DEFAULT_PAGE_SIZE } from '../pagination/cursor';

/** A connection field costs its page size times what each node costs, so `first` drives the price. */
const connectionEstimator: ComplexityEstimator = ({ args, childComplexity, field }) => {
  const typeName = String(field.type).replace(/[![\]]/g, '');
  if (!typeName.endsWith('Connection')) return undefined;
  const first = typeof args['first'] === 'number' ? args['first'] : DEFAULT_PAGE_SIZE;
  return 1 + Math.max(first, 1) * Math.max(childComplexity, 1) / 10;
};

export function complexityOf(schema: GraphQLSchema, query: Parameters<typeof getComplexity>[0]['query'], variables: Record<string, unknown>): number {
  return getComplexity({ schema, query, variables, estimators: [connectionEstimator, simpleEstimator({ defaultComplexity: 1 })] });
}

/** Apollo plugin: refuses an operation whose estimated cost exceeds `max` before anything runs. */
export function complexityLimit(schema: GraphQLSchema, max: number): ApolloServerPlugin {
  // Dashboards repeat the same documents: remember each (document, operation, variables) cost.
  const costs = new Map<string, number>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, operationName }) {
          const ops = separateOperations(document);
          const doc = operationName ? ops[operationName] : Object.values(ops)[0];
          if (!doc) return;
          const key = `${operationName ?? ''}\u0000${JSON.stringify(request.variables ?? {})}\u0000${request.query ?? ''}`;
          let cost = costs.get(key);
          if (cost === undefined) {
            try {
              cost = complexityOf(schema, doc, request.variables ?? {});
            } catch (err) {
              // Variables that do not coerce: execution reports them as BAD_USER_INPUT right after.
              if (err instanceof GraphQLError) return;
              throw err;
            }
            if (costs.size >= 1000) costs.delete(costs.keys().next().value as string);
            costs.set(key, cost);
          }
          if (cost > max) throw new BadUserInputError(`the query is too expensive (estimated cost ${Math.round(cost)}, at most ${max}); ask for fewer rows or fields`);
        },
      };
    },
  };
}
