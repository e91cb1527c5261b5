import type { JsonObject } from '../types';

/** A Graph error response; thrown by handlers and rendered into Graph's error envelope. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly innerExtra: JsonObject = {},
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string, requestId: string, clientRequestId: string, extra: JsonObject = {}): JsonObject {
  return {
    error: {
      code,
      message,
      innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': requestId, 'client-request-id': clientRequestId, ...extra },
    },
  };
}

export const notFound = (id: string): GraphError =>
  new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const badRequest = (message: string, code = 'Request_BadRequest'): GraphError => new GraphError(400, code, message);

export const unsupportedQuery = (message = 'Unsupported Query.'): GraphError => new GraphError(400, 'Request_UnsupportedQuery', message);

export const forbidden = (): GraphError =>
  new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');

export const noRoute = (method: string, path: string): GraphError =>
  new GraphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').filter(Boolean).pop() ?? ''}'.`, {}, { method });
