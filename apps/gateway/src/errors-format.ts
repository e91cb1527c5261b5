import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from 'pino';
import { WardenError, type ErrorCode } from './errors';

// Codes of documents that never ran (Apollo's and graphql-js'), mapped onto the contract's list.
const REQUEST_CODES: Record<string, ErrorCode> = {
  GRAPHQL_PARSE_FAILED: 'BAD_USER_INPUT',
  GRAPHQL_VALIDATION_FAILED: 'BAD_USER_INPUT',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_FOUND: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_SUPPORTED: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
};

/**
 * The one place errors leave the gateway: known failures keep their message and contract code;
 * anything else (a bug, a database error with SQL in it) becomes a generic INTERNAL_SERVER_ERROR
 * carrying the request id, and the real error goes to the log under that id.
 */
export function formatError(logger: Logger, requestId: () => string | undefined) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { message: formatted.message, ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
    if (original instanceof WardenError) return { ...base, extensions: { code: original.code } };
    if (original instanceof GraphQLError) {
      const code = String(original.extensions['code'] ?? formatted.extensions?.['code'] ?? '');
      if (REQUEST_CODES[code]) return { ...base, extensions: { code: REQUEST_CODES[code] } };
    }
    if (original instanceof GraphQLError && !original.originalError) {
      const code = String(original.extensions['code'] ?? formatted.extensions?.['code'] ?? '');
      // graphql-js' own errors: before execution they are the caller's document; during it, ours.
      if (!code && !formatted.path) return { ...base, extensions: { code: 'BAD_USER_INPUT' } };
    }
    const id = requestId();
    logger.error({ requestId: id, path: formatted.path, err: original instanceof Error ? { message: original.message, stack: original.stack } : String(original) }, 'unexpected error');
    return {
      message: `internal server error${id ? ` (request id ${id})` : ''}`,
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR', ...(id ? { requestId: id } : {}) },
    };
  };
}
