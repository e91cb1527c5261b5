import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { Caller } from '../auth/roles';
import type { GatewayContext } from '../context';
import { WardenError } from '../errors';
import { costCheck, costKey, type CostCheck } from './complexity';
import { depthLimit } from './depth-limit';
import { limitError } from './limit-error';

export interface LimitSettings {
  maxDepth: number;
  maxComplexity: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  /** GRAPHQL_INTROSPECTION: `__schema` / `__type` for authenticated callers; never for anonymous ones. */
  introspection: boolean;
}

/**
 * The one set of document limits, applied alike by Apollo (HTTP) and graphql-ws:
 * - `parseOptions`: at most `maxTokens` lexical tokens (graphql's parser stops counting there);
 * - `validationRules`: depth (introspection measured too, see depth-limit.ts), aliases and directives
 *   (GraphQL Armor, fragments counted once per spread), and no introspection when it is turned off;
 * - `checkOperation`: introspection only with a token, and the estimated cost with the variables
 *   (connection-aware: `first` drives the price), refusing what cannot be costed.
 */
export class QueryLimits {
  readonly parseOptions: ParseOptions;
  readonly validationRules: ValidationRule[];
  private readonly cost: CostCheck;

  constructor(
    schema: GraphQLSchema,
    readonly settings: LimitSettings,
  ) {
    this.parseOptions = { maxTokens: settings.maxTokens };
    const reject = (ctx: ValidationContext | null, err: GraphQLError) =>
      ctx?.reportError(limitError(err.message.replace(/^Syntax Error: /, '')));
    this.validationRules = [
      depthLimit(settings.maxDepth),
      maxAliasesRule({ n: settings.maxAliases, propagateOnRejection: false, onReject: [reject] }),
      maxDirectivesRule({ n: settings.maxDirectives, propagateOnRejection: false, onReject: [reject] }),
      ...(settings.introspection ? [] : [noIntrospection]),
    ];
    this.cost = costCheck(schema, settings.maxComplexity);
  }

  /** Throws (a WardenError or a limit error) when this operation may not run for this caller. */
  checkOperation(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown> | null | undefined,
    caller: Caller | null,
    cacheKey?: string,
  ): void {
    if (!caller && selectsIntrospection(document, operation.selectionSet)) {
      throw new WardenError('UNAUTHENTICATED', 'introspection requires authentication: send Authorization: Bearer <token>', 401);
    }
    this.cost(document, operation, variables, cacheKey);
  }

  /** Apollo plugin running `checkOperation` once the operation is known, before anything executes. */
  plugin(): ApolloServerPlugin<GatewayContext> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ request, document, operation, contextValue }) => {
          if (!operation) return;
          const key = request.query === undefined ? undefined : costKey(request.operationName, request.variables, request.query);
          this.checkOperation(document, operation, request.variables, contextValue.caller, key);
        },
      }),
    };
  }
}

/** GRAPHQL_INTROSPECTION=false: one refusal per operation that reaches `__schema` or `__type`. */
const noIntrospection: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (selectsIntrospection(context.getDocument(), node.selectionSet)) {
      context.reportError(limitError('introspection is turned off on this server (GRAPHQL_INTROSPECTION=false)', node));
    }
  },
});

/** Whether an operation reaches `__schema` or `__type` (directly or through fragments). */
export function selectsIntrospection(document: DocumentNode, root: SelectionSetNode): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode): boolean => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        // Only the root type has these fields; deeper ones are ordinary fields or invalid.
        if (sel.name.value === '__schema' || sel.name.value === '__type') return true;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        if (visit(sel.selectionSet)) return true;
      } else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const frag = fragments.get(sel.name.value);
        if (frag && visit(frag.selectionSet)) return true;
      }
    }
    return false;
  };
  return visit(root);
}
