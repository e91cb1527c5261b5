import { unsupportedQuery } from '../http/errors';
import type { GraphRequest, GraphResponse } from '../http/types';
import type { JsonObject, JsonValue } from '../types';
import { evaluate, parseFilter } from './filter';
import { canonical, isEventual, opt, parseSelect, parseTop, wantsCount } from './query';
import type { EntitySchema } from './schema';
import type { SnapshotRegistry } from './snapshots';

export interface ListContext {
  baseUrl: string;
  /** Origin of nextLinks (the emulator's unless a test injects another). */
  linkBaseUrl?: string;
  snapshots: SnapshotRegistry;
}

export interface ListSpec<T> {
  /** e.g. "users" or "directoryObjects" for the @odata.context. */
  contextName: string;
  schema: EntitySchema;
  /** The full, current list (a stable array per version, so filtered views can be cached). */
  source: () => readonly T[];
  render: (item: T, select: readonly string[] | null) => JsonObject | null;
  /** Used by $filter; null means the collection does not support $filter. */
  asObject?: (item: T) => JsonObject | undefined;
  maxTop?: number;
  /** Collections that never page (directoryRoles): one response with everything. */
  unpaged?: boolean;
  /** Extra validation of a parsed filter (e.g. advanced-query rules). */
  checkFilter?: (advanced: boolean, req: GraphRequest) => void;
}

const filterCache = new WeakMap<object, Map<string, readonly unknown[]>>();

function filtered<T>(items: readonly T[], key: string, make: () => readonly T[]): readonly T[] {
  let m = filterCache.get(items);
  if (!m) {
    m = new Map();
    filterCache.set(items, m);
  }
  let hit = m.get(key) as readonly T[] | undefined;
  if (!hit) {
    hit = Object.freeze(make());
    if (m.size > 50) m.clear();
    m.set(key, hit);
  }
  return hit;
}

/** The query string of a nextLink: the original options minus any previous $skiptoken, plus the new one. */
export function nextQuery(rawQuery: string, token: string): string {
  const kept = rawQuery.split('&').filter((p) => {
    if (!p) return false;
    const k = decodeURIComponent(p.split('=')[0] ?? '').toLowerCase();
    return k !== '$skiptoken' && k !== 'skiptoken';
  });
  kept.push(`$skiptoken=${encodeURIComponent(token).replace(/'/g, '%27')}`);
  return kept.join('&');
}

export function contextUrl(baseUrl: string, name: string, select: readonly string[] | null): string {
  return `${baseUrl}/v1.0/$metadata#${name}${select ? `(${select.join(',')})` : ''}`;
}

/** Graph's collection response: $select, $top, $filter, $count and opaque expiring $skiptoken paging. */
export function listResponse<T>(ctx: ListContext, req: GraphRequest, spec: ListSpec<T>): GraphResponse {
  const select = parseSelect(req, spec.schema, true);
  const top = spec.unpaged ? null : parseTop(req, 999);
  const pageSize = Math.min(top ?? 100, spec.maxTop ?? 999);
  const skiptoken = opt(req, 'skiptoken');
  let items: readonly T[];
  let offset = 0;
  let first = true;
  if (skiptoken && !spec.unpaged) {
    const r = ctx.snapshots.resolve<T>(skiptoken);
    items = r.items;
    offset = r.offset;
    first = false;
  } else {
    items = spec.source();
    const filterSrc = opt(req, 'filter');
    if (filterSrc) {
      if (!spec.asObject) throw unsupportedQuery();
      const parsed = parseFilter(filterSrc);
      for (const p of parsed.props) {
        if (!spec.schema.props.has(p.toLowerCase())) {
          throw unsupportedQuery(`Could not find a property named '${p}' on type '${spec.schema.odataType.slice(1)}'.`);
        }
      }
      if (spec.checkFilter) spec.checkFilter(parsed.advanced, req);
      else if (parsed.advanced && !(isEventual(req) && wantsCount(req))) throw unsupportedQuery();
      const canon = canonical(spec.schema);
      const asObject = spec.asObject;
      items = filtered(items, filterSrc, () =>
        items.filter((it) => {
          const o = asObject(it);
          return o ? evaluate(parsed.root, o, canon) : false;
        }),
      );
    }
  }
  const end = spec.unpaged ? items.length : Math.min(items.length, offset + pageSize);
  const value: JsonValue[] = [];
  for (let i = offset; i < end; i++) {
    const r = spec.render(items[i] as T, select);
    if (r) value.push(r);
  }
  const body: JsonObject = { '@odata.context': contextUrl(ctx.baseUrl, spec.contextName, select) };
  if (first && wantsCount(req) && isEventual(req)) body['@odata.count'] = items.length;
  if (end < items.length) {
    body['@odata.nextLink'] =
      `${ctx.linkBaseUrl ?? ctx.baseUrl}/v1.0${req.path}?${nextQuery(req.rawQuery, ctx.snapshots.token(items, end))}`;
  }
  body['value'] = value;
  return { status: 200, headers: {}, body };
}
