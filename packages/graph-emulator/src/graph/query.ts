import { GraphError, badRequest, unsupportedQuery } from '../http/errors';
import type { GraphRequest } from '../http/types';
import type { JsonObject } from '../types';
import type { EntitySchema } from './schema';

/** Reads a system query option with or without its '$' (Graph accepts both on v1.0). */
export function opt(req: GraphRequest, name: string): string | null {
  return req.query.get(`$${name}`) ?? req.query.get(name);
}

export function isEventual(req: GraphRequest): boolean {
  return (req.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual';
}

export function parseSelect(req: GraphRequest, schema: EntitySchema, inCollection: boolean): string[] | null {
  const raw = opt(req, 'select');
  if (raw === null || raw.trim() === '') return null;
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const name = part.trim();
    if (!name) continue;
    const canon = schema.props.get(name.toLowerCase());
    if (!canon) {
      throw badRequest(`Could not find a property named '${name}' on type '${schema.odataType.slice(1)}'.`);
    }
    if (inCollection && schema.notInCollections?.has(name.toLowerCase())) {
      throw new GraphError(
        501,
        'NotImplemented',
        `This operation target is not yet supported: property '${canon}' cannot be selected in a collection.`,
      );
    }
    if (!out.includes(canon)) out.push(canon);
  }
  return out;
}

export function parseTop(req: GraphRequest, max = 999): number | null {
  const raw = opt(req, 'top');
  if (raw === null) return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw unsupportedQuery(`Invalid page size specified: '${raw}'. Must be between 1 and ${max} inclusive.`);
  }
  return n;
}

export function wantsCount(req: GraphRequest): boolean {
  return (opt(req, 'count') ?? '').toLowerCase() === 'true';
}

/** The object as Graph returns it for this $select (selected-but-unset properties come back as null). */
export function project(obj: JsonObject, select: readonly string[] | null, schema: EntitySchema): JsonObject {
  const keys = select ?? schema.defaults;
  if (!keys) return obj;
  const out: JsonObject = {};
  for (const k of keys) out[k] = obj[k] ?? null;
  return out;
}

export function canonical(schema: EntitySchema): (p: string) => string {
  return (p) => schema.props.get(p.toLowerCase()) ?? p;
}
