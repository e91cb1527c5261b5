import { randomBytes } from 'node:crypto';
import type { EmulatorCore } from '../core';
import { GraphError, badRequest } from '../http/errors';
import type { GraphRequest, GraphResponse } from '../http/types';
import type { DeltaResource, Entity, LogEntry, ObjectType, RemovedReason } from '../tenant/directory';
import { Rng } from '../tenant/rng';
import type { JsonObject, JsonValue } from '../types';
import { parseFilter, type FilterNode } from './filter';
import { contextUrl } from './list';
import { opt } from './query';
import { odataTypeOf } from './render';
import { SCHEMAS, type EntitySchema } from './schema';

type Rel = 'members' | 'owners' | 'manager';
const isRel = (p: string): boolean => p === 'members' || p === 'owners' || p === 'manager';

interface ResourceSpec {
  schema: EntitySchema;
  rels: readonly Rel[];
  objects: (core: EmulatorCore) => readonly Entity[];
  get: (core: EmulatorCore, id: string) => Entity | undefined;
  links: (core: EmulatorCore, id: string, rel: Rel) => readonly string[];
}

const SPECS: Record<DeltaResource, ResourceSpec> = {
  users: {
    schema: SCHEMAS.user,
    // `$select=…,manager` tracks the manager reference (`manager@delta`), as Graph's users delta does.
    rels: ['manager'],
    objects: (c) => c.dir.users.list(),
    get: (c, id) => c.dir.users.get(id),
    links: (c, id) => {
      const m = c.dir.managers.get(id);
      return m === undefined ? [] : [m];
    },
  },
  groups: {
    schema: SCHEMAS.group,
    rels: ['members', 'owners'],
    objects: (c) => c.dir.groups.list(),
    get: (c, id) => c.dir.groups.get(id),
    links: (c, id, rel) => (rel === 'members' ? c.dir.groupMembers.get(id) : c.dir.groupOwners.get(id)),
  },
  servicePrincipals: {
    schema: SCHEMAS.servicePrincipal,
    rels: [],
    objects: (c) => c.dir.servicePrincipals.list(),
    get: (c, id) => c.dir.servicePrincipals.get(id),
    links: () => [],
  },
  directoryRoles: {
    schema: SCHEMAS.directoryRole,
    rels: ['members'],
    objects: (c) => c.dir.directoryRoles.list(),
    get: (c, id) => c.dir.directoryRoles.get(id),
    links: (c, id) => c.dir.directoryRoleMembers(id),
  },
};

interface Unit {
  id: string;
  obj?: Entity;
  removed?: RemovedReason;
  created?: boolean;
  changed?: Set<string>;
  links: Partial<Record<Rel, readonly string[]>>;
  /** Targets in `links` that are removals (incremental rounds only). */
  removedLinks?: Partial<Record<Rel, Set<string>>>;
  linkTypes?: Map<string, ObjectType>;
}

interface Round {
  resource: DeltaResource;
  select: string[] | null;
  /** $filter=id eq '…' or id eq '…' restricts the round (and later rounds) to these objects. */
  ids: string[] | null;
  rels: Rel[];
  size: number;
  unitAt: (i: number) => Unit;
  toPos: number;
  epoch: number;
  lastUsed: number;
}

interface DeltaTokenBody {
  r: DeltaResource;
  e: number;
  p: number;
  s: string[] | null;
  t: number;
  i: string;
  f?: string[] | null;
}
interface SkipTokenBody {
  k: string;
  u: number;
  m: number;
  o: number;
  t: number;
}

const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
function dec<T>(s: string): T | undefined {
  try {
    return JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

export const syncStateNotFound = (): GraphError =>
  new GraphError(
    400,
    'syncStateNotFound',
    'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
  );

/**
 * Delta queries over the append-only change logs. A round (first full enumeration or the changes
 * since a deltaLink) is fixed when it starts and held server-side; page tokens carry a cursor into
 * it, so retrying a nextLink returns the same page.
 */
export class DeltaEngine {
  private readonly rounds = new Map<string, Round>();
  private readonly instance = randomBytes(4).toString('hex');

  constructor(private readonly core: EmulatorCore) {}

  private sweep(): void {
    const cutoff = Date.now() - Math.max(this.core.settings.pageTokenTtlSeconds, 60) * 1000;
    for (const [k, r] of this.rounds) if (r.lastUsed < cutoff) this.rounds.delete(k);
    if (this.rounds.size > 2_000) {
      const sorted = [...this.rounds.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
      for (const [k] of sorted.slice(0, this.rounds.size - 2_000)) this.rounds.delete(k);
    }
  }

  private parseSelect(req: GraphRequest, spec: ResourceSpec): string[] | null {
    const raw = opt(req, 'select');
    if (!raw) return null;
    const out: string[] = [];
    for (const part of raw
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const lower = part.toLowerCase();
      const rel = spec.rels.find((r) => r === lower);
      const canon = rel ?? spec.schema.props.get(lower);
      if (!canon) throw badRequest(`Could not find a property named '${part}' on type '${spec.schema.odataType.slice(1)}'.`);
      // Graph: signInActivity is not tracked by users delta.
      if (canon === 'signInActivity') throw badRequest('signInActivity is not supported in a delta query.', 'Request_UnsupportedQuery');
      if (!out.includes(canon)) out.push(canon);
    }
    return out;
  }

  private relsFor(resource: DeltaResource, select: string[] | null): Rel[] {
    const spec = SPECS[resource];
    if (resource === 'directoryRoles') return select === null || select.includes('members') ? ['members'] : [];
    return spec.rels.filter((r) => select?.includes(r));
  }

  /** Delta supports only `id eq '…' or id eq '…'` filters (at most 50 ids for groups). */
  private parseIds(req: GraphRequest, resource: DeltaResource): string[] | null {
    const raw = opt(req, 'filter');
    if (!raw) return null;
    const ids: string[] = [];
    const walk = (n: FilterNode): void => {
      if (n.kind === 'or') {
        walk(n.left);
        walk(n.right);
        return;
      }
      if (n.kind === 'cmp' && n.op === 'eq' && n.prop.toLowerCase() === 'id' && typeof n.value === 'string') {
        ids.push(n.value.toLowerCase());
        return;
      }
      throw badRequest("Delta queries support only $filter=id eq '…' or id eq '…'.", 'Request_UnsupportedQuery');
    };
    walk(parseFilter(raw).root);
    if (resource === 'groups' && ids.length > 50)
      throw badRequest('At most 50 ids can be filtered in a groups delta query.', 'Request_UnsupportedQuery');
    return ids;
  }

  private deltaLink(resource: DeltaResource, select: string[] | null, pos: number, ids: string[] | null): string {
    const body: DeltaTokenBody = {
      r: resource,
      e: this.core.dir.epoch,
      p: pos,
      s: select,
      t: Math.floor(Date.now() / 1000),
      i: this.instance,
      f: ids,
    };
    return `${this.core.linkBaseUrl}/v1.0/${resource}/delta?$deltatoken=${enc(body)}`;
  }

  handle(resource: DeltaResource, req: GraphRequest): GraphResponse {
    const core = this.core;
    const spec = SPECS[resource];
    const deltaToken = opt(req, 'deltatoken');
    const skipToken = opt(req, 'skiptoken');
    if (opt(req, 'top') !== null || opt(req, 'expand') !== null || opt(req, 'orderby') !== null) {
      throw badRequest(`The delta query does not support $top, $expand or $orderby on ${resource}.`, 'Request_UnsupportedQuery');
    }
    if (core.settings.forceResync && (deltaToken || skipToken)) {
      core.updateSettings({ forceResync: false });
      const dt = deltaToken && deltaToken !== 'latest' ? dec<DeltaTokenBody>(deltaToken) : undefined;
      const sel = dt?.s ? `$select=${dt.s.join(',')}&` : '';
      throw new GraphError(410, 'resyncRequired', 'The delta token is no longer valid, and the app must reset the sync state.', {
        location: `${core.baseUrl}/v1.0/${resource}/delta?${sel}$deltatoken=`,
      });
    }
    this.sweep();
    if (skipToken) {
      const st = dec<SkipTokenBody>(skipToken);
      const round = st ? this.rounds.get(st.k) : undefined;
      if (!st || !round || round.resource !== resource || round.epoch !== core.dir.epoch) throw syncStateNotFound();
      round.lastUsed = Date.now();
      return this.page(round, st.k, { u: st.u, m: st.m, o: st.o }, req);
    }
    if (deltaToken === 'latest') {
      const select = this.parseSelect(req, spec);
      return {
        status: 200,
        headers: {},
        body: {
          '@odata.context': contextUrl(core.baseUrl, resource, select),
          '@odata.deltaLink': this.deltaLink(resource, select, core.dir.logs[resource].length, this.parseIds(req, resource)),
          value: [],
        },
      };
    }
    let round: Round;
    if (deltaToken) {
      const t = dec<DeltaTokenBody>(deltaToken);
      if (
        !t ||
        t.r !== resource ||
        t.i !== this.instance ||
        t.e !== core.dir.epoch ||
        typeof t.p !== 'number' ||
        t.p > core.dir.logs[resource].length
      )
        throw syncStateNotFound();
      if (Date.now() / 1000 - t.t > core.settings.deltaTokenTtlSeconds) throw syncStateNotFound();
      round = this.incremental(resource, t.s, t.p, t.f ?? null);
    } else {
      round = this.full(resource, this.parseSelect(req, spec), this.parseIds(req, resource));
    }
    const key = randomBytes(9).toString('base64url');
    this.rounds.set(key, round);
    return this.page(round, key, { u: 0, m: 0, o: 0 }, req);
  }

  private full(resource: DeltaResource, select: string[] | null, ids: string[] | null): Round {
    const core = this.core;
    const spec = SPECS[resource];
    const objs = ids ? spec.objects(core).filter((o) => ids.includes(o.id)) : spec.objects(core);
    const rels = this.relsFor(resource, select);
    // Capture the link arrays now (they are copy-on-write) so the round is a consistent snapshot.
    const captured: Partial<Record<Rel, (readonly string[])[]>> = {};
    for (const rel of rels) captured[rel] = objs.map((o) => spec.links(core, o.id, rel));
    return {
      resource,
      select,
      ids,
      rels,
      size: objs.length,
      toPos: core.dir.logs[resource].length,
      epoch: core.dir.epoch,
      lastUsed: Date.now(),
      unitAt: (i) => {
        const obj = objs[i] as Entity;
        const links: Unit['links'] = {};
        for (const rel of rels) links[rel] = (captured[rel] as (readonly string[])[])[i] as readonly string[];
        return { id: obj.id, obj, created: true, links };
      },
    };
  }

  private incremental(resource: DeltaResource, select: string[] | null, from: number, ids: string[] | null): Round {
    const core = this.core;
    const spec = SPECS[resource];
    const log = core.dir.logs[resource];
    const to = log.length;
    const rels = this.relsFor(resource, select);
    const tracked = select ? select.filter((p) => !isRel(p)) : spec.schema.defaults;
    const entries: { e: LogEntry; replay: boolean }[] = [];
    const replayRate = core.settings.replayRate ?? 0;
    if (replayRate > 0 && from > 0) {
      // Replays of already-delivered changes: consumers must be idempotent (Graph documents this).
      const rng = new Rng(from * 7919 + to);
      const window = Math.max(20, to - from);
      for (let i = Math.max(0, from - window); i < from; i++)
        if (rng.chance(replayRate)) entries.push({ e: log[i] as LogEntry, replay: true });
    }
    for (let i = from; i < to; i++) entries.push({ e: log[i] as LogEntry, replay: false });
    const byId = new Map<string, Unit & { linkChanges: Partial<Record<Rel, Set<string>>>; replayed?: boolean }>();
    for (const { e, replay } of entries) {
      if (ids && !ids.includes(e.id)) continue;
      let u = byId.get(e.id);
      if (!u) {
        u = { id: e.id, links: {}, linkChanges: {}, linkTypes: new Map() };
        byId.set(e.id, u);
      }
      if (e.op === 'delete') u.removed = e.reason ?? 'deleted';
      else if (e.op === 'upsert') {
        if (e.created && !replay) u.created = true;
        if (replay) u.replayed = true;
        if (e.props) {
          u.changed ??= new Set();
          for (const p of e.props) u.changed.add(p);
        }
      } else if (e.op === 'link' && e.rel && e.target && rels.includes(e.rel)) {
        (u.linkChanges[e.rel] ??= new Set()).add(e.target);
        if (e.targetType) u.linkTypes?.set(e.target, e.targetType);
      }
    }
    const units: Unit[] = [];
    for (const u of byId.values()) {
      const current = spec.get(core, u.id);
      if (!current) {
        // Created and deleted within the window: Graph never shows such objects.
        if (u.created) continue;
        units.push({ id: u.id, removed: u.removed ?? 'deleted', links: {} });
        continue;
      }
      const propHit =
        u.created ||
        u.replayed === true ||
        (u.changed !== undefined && (tracked === null || [...u.changed].some((p) => tracked.includes(p))));
      let linkHit = false;
      for (const rel of rels) {
        const changes = u.linkChanges[rel];
        if (!changes || changes.size === 0) continue;
        const now = new Set(spec.links(core, u.id, rel));
        const list: string[] = [];
        const removed = new Set<string>();
        for (const t of changes) {
          list.push(t);
          if (!now.has(t)) removed.add(t);
        }
        u.links[rel] = list;
        (u.removedLinks ??= {})[rel] = removed;
        linkHit = true;
      }
      if (u.created) {
        // A new object carries its complete link lists.
        for (const rel of rels) u.links[rel] = spec.links(core, u.id, rel);
        u.removedLinks = {};
      }
      if (!propHit && !linkHit) continue;
      units.push(u);
    }
    return {
      resource,
      select,
      ids,
      rels,
      size: units.length,
      toPos: to,
      epoch: core.dir.epoch,
      lastUsed: Date.now(),
      unitAt: (i) => units[i] as Unit,
    };
  }

  private renderObject(round: Round, unit: Unit, minimal: boolean): JsonObject {
    if (unit.removed) return { id: unit.id, '@removed': { reason: unit.removed } };
    const spec = SPECS[round.resource];
    const obj = unit.obj ?? spec.get(this.core, unit.id);
    if (!obj) return { id: unit.id, '@removed': { reason: 'deleted' } };
    const props = round.select ? round.select.filter((p) => !isRel(p)) : spec.schema.defaults;
    const out: JsonObject = {};
    if (minimal && !unit.created) {
      for (const p of unit.changed ?? []) if (!props || props.includes(p)) out[p] = obj[p] ?? null;
    } else if (props) {
      for (const p of props) if (obj[p] !== undefined && obj[p] !== null) out[p] = obj[p] as JsonValue;
    } else {
      for (const [k, v] of Object.entries(obj)) if (v !== null) out[k] = v;
    }
    out['id'] = obj.id;
    return out;
  }

  private linkItem(unit: Unit, rel: Rel, target: string): JsonObject {
    const type = this.core.dir.typeOf(target) ?? unit.linkTypes?.get(target) ?? 'user';
    const item: JsonObject = { '@odata.type': odataTypeOf(type), id: target };
    if (unit.removedLinks?.[rel]?.has(target)) item['@removed'] = { reason: 'deleted' };
    return item;
  }

  private page(round: Round, key: string, cur: { u: number; m: number; o: number }, req: GraphRequest): GraphResponse {
    const s = this.core.settings;
    const pageSize = s.deltaPageSize ?? 100;
    const linkBudget = s.deltaLinksPerPage ?? 1000;
    const minimal = /return=minimal/i.test(req.headers['prefer'] ?? '');
    const value: JsonObject[] = [];
    let links = 0;
    let { u, m, o } = cur;
    while (u < round.size && value.length < pageSize) {
      const unit = round.unitAt(u);
      const mem = round.rels.includes('members') ? (unit.links.members ?? []) : [];
      const own = round.rels.includes('owners') ? (unit.links.owners ?? []) : [];
      if (mem.length + own.length === 0 || unit.removed) {
        const obj = this.renderObject(round, unit, minimal);
        const mgr = round.rels.includes('manager') && !unit.removed ? (unit.links.manager ?? []) : [];
        if (mgr.length) obj['manager@delta'] = mgr.map((t) => this.linkItem(unit, 'manager', t));
        value.push(obj);
        u++;
        m = 0;
        o = 0;
        continue;
      }
      const budget = linkBudget - links;
      if (budget <= 0) break;
      const takeM = Math.min(mem.length - m, budget);
      const takeO = Math.min(own.length - o, budget - takeM);
      const item = this.renderObject(round, unit, minimal);
      if (takeM > 0) item['members@delta'] = mem.slice(m, m + takeM).map((t) => this.linkItem(unit, 'members', t));
      if (takeO > 0) item['owners@delta'] = own.slice(o, o + takeO).map((t) => this.linkItem(unit, 'owners', t));
      value.push(item);
      links += takeM + takeO;
      m += takeM;
      o += takeO;
      if (m >= mem.length && o >= own.length) {
        u++;
        m = 0;
        o = 0;
      }
    }
    const body: JsonObject = { '@odata.context': contextUrl(this.core.baseUrl, round.resource, round.select) };
    if (u < round.size) {
      const st: SkipTokenBody = { k: key, u, m, o, t: Math.floor(Date.now() / 1000) };
      body['@odata.nextLink'] = `${this.core.linkBaseUrl}/v1.0/${round.resource}/delta?$skiptoken=${enc(st)}`;
    } else {
      body['@odata.deltaLink'] = this.deltaLink(round.resource, round.select, round.toPos, round.ids);
    }
    body['value'] = value;
    return { status: 200, headers: {}, body };
  }
}
