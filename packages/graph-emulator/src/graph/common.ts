import { GraphError, badRequest } from '../http/errors';
import type { GraphRequest, GraphResponse } from '../http/types';
import type { Entity } from '../tenant/directory';
import type { JsonObject } from '../types';
import { contextUrl } from './list';
import { isEventual, parseSelect, project } from './query';
import type { EntitySchema } from './schema';

/** GET /{collection}/$count: text/plain, only with ConsistencyLevel: eventual. */
export function countResponse(req: GraphRequest, n: number): GraphResponse {
  if (!isEventual(req)) throw badRequest('$count is not currently supported.');
  return { status: 200, headers: { 'content-type': 'text/plain;charset=utf-8' }, body: String(n) };
}

export function entityResponse(baseUrl: string, req: GraphRequest, contextName: string, schema: EntitySchema, obj: Entity): GraphResponse {
  const select = parseSelect(req, schema, false);
  const body: JsonObject = { '@odata.context': `${contextUrl(baseUrl, contextName, select)}/$entity`, ...project(obj, select, schema) };
  return { status: 200, headers: {}, body };
}

export function noContent(): GraphResponse {
  return { status: 204, headers: {} };
}

export function requireBody(req: GraphRequest): JsonObject {
  const b = req.body;
  if (!b || typeof b !== 'object' || Array.isArray(b)) {
    throw new GraphError(400, 'Request_BadRequest', 'Write requests (excluding DELETE) must contain the Content-Type header declaration.');
  }
  return b as JsonObject;
}
