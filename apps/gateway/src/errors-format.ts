import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import type { GatewayContext } from './context';
import { asContractError, WardenError, type ErrorCode } from './errors';

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
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = asContractError(unwrapResolverError(error));
    const base = {
      message: original instanceof WardenError ? original.message : formatted.message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
    };
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
    // Logged with the request id by requestIdsOnInternalErrors, which also puts the id in the message.
    if (!formatted.path) logger.error({ err: errorForLog(original) }, 'unexpected error outside execution');
    return {
      message: 'internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

function errorForLog(e: unknown) {
  return e instanceof Error ? { message: e.message, stack: e.stack } : String(e);
}

/**
 * Apollo's formatError has no access to the request, so this plugin finishes the job for
 * INTERNAL_SERVER_ERROR: it logs the real error under the request id (didEncounterErrors) and
 * adds that id to the client's message (willSendResponse).
 */
export function requestIdsOnInternalErrors(logger: Logger): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          for (const e of errors) {
            const original = asContractError(unwrapResolverError(e));
            if (original instanceof WardenError) continue;
            if (original instanceof GraphQLError && REQUEST_CODES[String(original.extensions['code'] ?? '')]) continue;
            if (original instanceof GraphQLError && !original.originalError && !e.path) continue;
            logger.error({ requestId: contextValue?.requestId, path: e.path, err: errorForLog(original) }, 'unexpected error');
          }
        },
        async willSendResponse({ contextValue, response }) {
          if (response.body.kind !== 'single' || !contextValue?.requestId) return;
          const result = response.body.singleResult;
          if (!result.errors?.some((e) => e.extensions?.['code'] === 'INTERNAL_SERVER_ERROR')) return;
          const id = contextValue.requestId;
          result.errors = result.errors.map((e) =>
            e.extensions?.['code'] === 'INTERNAL_SERVER_ERROR'
              ? { ...e, message: `internal server error (request id ${id})`, extensions: { ...e.extensions, requestId: id } }
              : e,
          );
        },
      };
    },
  };
}
