import { GraphQLError, type ASTNode } from 'graphql';

/** Marks an error as a refusal by one of the gateway's document limits (not sent to clients). */
const LIMIT_MARK = 'wardenLimit';

/**
 * A document refused by a limit (depth, cost, aliases, directives, tokens, introspection): contract
 * code BAD_USER_INPUT and HTTP 400 whatever the Accept header (server.ts keeps the 400).
 */
export function limitError(message: string, node?: ASTNode): GraphQLError {
  return new GraphQLError(message, {
    ...(node ? { nodes: [node] } : {}),
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 }, [LIMIT_MARK]: true },
  });
}

const TOKEN_LIMIT = /Document contains more th(?:an|at) \d+ tokens/;

export function isLimitError(e: { message: string; extensions?: Record<string, unknown> | undefined; originalError?: unknown }): boolean {
  if (e.extensions?.[LIMIT_MARK] === true) return true;
  // graphql's parser enforces maxTokens with its own syntax error.
  if (TOKEN_LIMIT.test(e.message)) return true;
  const original = e.originalError as { extensions?: Record<string, unknown> } | undefined;
  return original?.extensions?.[LIMIT_MARK] === true;
}
