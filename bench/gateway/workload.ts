import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import { Rng } from '../../tests/chaos/src/rng';

/**
 * The dashboard workload of issue 17: what people do in the console, as requests with times, drawn
 * from the database with a seeded generator, and the same GraphQL question written for each server
 * (the gateway's contract, and PostGraphile's schema over the same tables).
 */
export type ServerKind = 'gateway' | 'postgraphile';

export const SHAPES = [
  'connectors list',
  'user search (type-ahead)',
  'user search, next page',
  'group holders',
  'group holders, next page',
  'effective access of a user',
  'resource detail',
  'sync runs',
  'audit log',
  'me (member)',
  'review queue (member)',
] as const;
export type Shape = (typeof SHAPES)[number];

/** Shapes only a member sends; every other shape is sent with a platform role's token. */
const MEMBER_SHAPES = new Set<Shape>(['me (member)', 'review queue (member)']);

export interface Req {
  /** ms after the start of the run at which the request is due (latency is measured from here). */
  at: number;
  shape: Shape;
  /** Index into the token list. */
  token: number;
  vars: Record<string, string | number>;
  /** A next page: sent with the `endCursor` of this earlier request's answer (on the same server). */
  after?: number;
}

interface Doc {
  query: string;
  vars: (v: Req['vars'], after: string | null) => Record<string, unknown>;
}

const page = (after: string | null) => (after ? { after } : {});

/** The same question for each server. Page sizes are the console's. */
export const DOCS: Record<Shape, Record<ServerKind, Doc>> = {
  'connectors list': {
    gateway: {
      query:
        'query Connectors { connectors(first: 50) { totalCount edges { node { id displayName status tenantId lastSyncRun { id status finishedAt } } } } }',
      vars: () => ({}),
    },
    postgraphile: {
      query:
        'query Connectors { allConnectors(first: 50, orderBy: [CREATED_AT_ASC, ID_ASC]) { totalCount nodes { id displayName status tenantId syncRunsByConnectorId(first: 1, orderBy: [QUEUED_AT_DESC, ID_DESC]) { nodes { id status finishedAt } } } } }',
      vars: () => ({}),
    },
  },
  'user search (type-ahead)': {
    gateway: {
      query:
        'query Search($c: ID!, $t: String, $after: String) { resources(connectorId: $c, type: USER, search: $t, first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id displayName profile } } } }',
      vars: (v, a) => ({ c: v.c, t: v.t, ...page(a) }),
    },
    postgraphile: {
      query:
        'query Search($c: UUID!, $t: String!, $after: Cursor) { searchResources(connector: $c, kind: "USER", term: $t, first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id displayName profile } } }',
      vars: (v, a) => ({ c: v.c, t: v.t, ...page(a) }),
    },
  },
  'user search, next page': {
    gateway: { query: '', vars: () => ({}) },
    postgraphile: { query: '', vars: () => ({}) },
  },
  'group holders': {
    gateway: {
      query:
        'query Holders($e: ID!, $after: String) { entitlement(id: $e) { id displayName resource { id displayName } grants(first: 50, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id direct principal { id displayName type } } } } } }',
      vars: (v, a) => ({ e: v.e, ...page(a) }),
    },
    postgraphile: {
      query:
        'query Holders($e: UUID!, $after: Cursor) { entitlementById(id: $e) { id displayName resource { id displayName } holders(first: 50, after: $after, orderBy: ID_ASC) { totalCount pageInfo { hasNextPage endCursor } nodes { id direct principal { id displayName type } } } } }',
      vars: (v, a) => ({ e: v.e, ...page(a) }),
    },
  },
  'group holders, next page': {
    gateway: { query: '', vars: () => ({}) },
    postgraphile: { query: '', vars: () => ({}) },
  },
  'effective access of a user': {
    gateway: {
      query:
        'query Access($r: ID!) { resource(id: $r) { id displayName grants(first: 100) { totalCount edges { node { id direct entitlement { id displayName resource { id displayName type } } } } } } }',
      vars: (v) => ({ r: v.r }),
    },
    postgraphile: {
      query:
        'query Access($r: UUID!) { resourceById(id: $r) { id displayName heldGrants(first: 100, orderBy: ID_ASC) { totalCount nodes { id direct entitlement { id displayName resource { id displayName type } } } } } }',
      vars: (v) => ({ r: v.r }),
    },
  },
  'resource detail': {
    gateway: {
      query:
        'query Detail($r: ID!) { resource(id: $r) { id type externalId displayName profile entitlements { id slug displayName grantable } } }',
      vars: (v) => ({ r: v.r }),
    },
    postgraphile: {
      query:
        'query Detail($r: UUID!) { resourceById(id: $r) { id type externalId displayName profile offeredEntitlements { nodes { id slug displayName grantable } } } }',
      vars: (v) => ({ r: v.r }),
    },
  },
  'sync runs': {
    gateway: {
      query:
        'query Runs($c: ID!) { connector(id: $c) { id displayName status syncRuns(first: 20) { totalCount edges { node { id mode status progress queuedAt finishedAt stats { users groups grants } } } } } }',
      vars: (v) => ({ c: v.c }),
    },
    postgraphile: {
      query:
        'query Runs($c: UUID!) { connectorById(id: $c) { id displayName status syncRunsByConnectorId(first: 20, orderBy: [QUEUED_AT_DESC, ID_DESC]) { totalCount nodes { id mode status progress queuedAt finishedAt stats } } } }',
      vars: (v) => ({ c: v.c }),
    },
  },
  'audit log': {
    gateway: {
      query: 'query Audit($c: ID) { auditEvents(connectorId: $c, first: 50) { totalCount edges { node { id at actor action details } } } }',
      vars: (v) => ({ c: v.c }),
    },
    postgraphile: {
      query:
        'query Audit($c: UUID!) { allAuditEvents(condition: { connectorId: $c }, orderBy: ID_DESC, first: 50) { totalCount nodes { id at actor action details } } }',
      vars: (v) => ({ c: v.c }),
    },
  },
  'me (member)': {
    gateway: { query: 'query Me { me { subject roles displayName identities { id displayName type } } }', vars: () => ({}) },
    postgraphile: {
      // No caller in PostGraphile's API as configured here: the same row looked up by its unique key.
      query:
        'query Me($c: UUID!, $oid: String!) { resourceByConnectorIdAndExternalId(connectorId: $c, externalId: $oid) { id displayName type } }',
      vars: (v) => ({ c: v.c, oid: v.oid }),
    },
  },
  'review queue (member)': {
    gateway: {
      query:
        'query Queue { myReviewItems(first: 20) { totalCount edges { node { id recommendation recommendationReason entitlement { id displayName } principal { id displayName } } } } }',
      vars: () => ({}),
    },
    postgraphile: {
      query:
        'query Queue($s: String!, $oid: String!) { reviewQueue(subject: $s, oid: $oid, first: 20) { totalCount nodes { id recommendation recommendationReason entitlement { id displayName } principal { id displayName } } } }',
      vars: (v) => ({ s: v.s, oid: v.oid }),
    },
  },
};
// A next page is the first page's question with the cursor of its answer.
DOCS['user search, next page'] = DOCS['user search (type-ahead)'];
DOCS['group holders, next page'] = DOCS['group holders'];

export function isMemberShape(s: Shape): boolean {
  return MEMBER_SHAPES.has(s);
}

/** What the workload draws from: the synced tenant as the database holds it. */
export interface Population {
  mainConnectorId: string;
  connectorIds: string[];
  users: { id: string; name: string }[];
  /** Every group's member entitlement of the main connector, in a seeded random popularity order. */
  groupMemberEntitlements: string[];
  detailResources: string[];
}

export async function loadPopulation(db: Kysely<Database>, mainConnectorId: string, seed: number): Promise<Population> {
  const rng = new Rng(seed ^ 0x5eed);
  const users = (
    await sql<{
      id: string;
      name: string;
    }>`SELECT id, display_name AS name FROM resources WHERE connector_id = ${mainConnectorId} AND type = 'USER' ORDER BY external_id`.execute(
      db,
    )
  ).rows;
  const groups = (
    await sql<{
      id: string;
    }>`SELECT id FROM entitlements WHERE connector_id = ${mainConnectorId} AND resource_type = 'GROUP' AND slug = 'member' ORDER BY key`.execute(
      db,
    )
  ).rows.map((r) => r.id);
  // Popularity is not size: a seeded permutation decides which groups people open most.
  for (let i = groups.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [groups[i], groups[j]] = [groups[j]!, groups[i]!];
  }
  const detailResources = (
    await sql<{
      id: string;
    }>`SELECT id FROM resources WHERE connector_id = ${mainConnectorId} AND type IN ('GROUP', 'ENTERPRISE_APPLICATION', 'DIRECTORY_ROLE') ORDER BY external_id`.execute(
      db,
    )
  ).rows.map((r) => r.id);
  const connectorIds = (await db.selectFrom('connectors').select('id').orderBy('created_at').execute()).map((r) => r.id);
  return { mainConnectorId, connectorIds, users, groupMemberEntitlements: groups, detailResources };
}

export interface Caller {
  role: string;
  sub: string;
  oid: string;
}

/** Zipf-like popularity (weight 1/rank) over n items: a sampler returning an index. */
function zipf(n: number): (rng: Rng) => number {
  const cum = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) cum[k] = total += 1 / (k + 1);
  return (rng) => {
    const x = rng.next() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Shares of the mix, by requests (a session of several requests counts each of them). */
const MIX = { connectors: 0.1, search: 0.25, holders: 0.25, access: 0.2, other: 0.2 } as const;
/** Requests per session of each kind, on average (search: 1–4 keystrokes from the second letter, then a next page). */
const PER_SESSION = { connectors: 1, search: 3.5, holders: 2, access: 1, other: 1 } as const;
const KEYSTROKE_MS = 180;
const NEXT_PAGE_MS = 1500;

/**
 * Sessions arrive as a Poisson process (seeded) so that requests come at `rate` per second on average
 * over `durationMs`; each session's requests follow at human intervals (keystrokes, then a scroll).
 */
export function generateRequests(pop: Population, callers: Caller[], rate: number, durationMs: number, seed: number): Req[] {
  const rng = new Rng(seed);
  const staff = callers.map((c, i) => ({ c, i })).filter((x) => x.c.role !== 'MEMBER');
  const members = callers.map((c, i) => ({ c, i })).filter((x) => x.c.role === 'MEMBER');
  const groupRank = zipf(pop.groupMemberEntitlements.length);
  const sessionWeights = Object.fromEntries(
    Object.entries(MIX).map(([k, share]) => [k, share / PER_SESSION[k as keyof typeof MIX]]),
  ) as Record<keyof typeof MIX, number>;
  // The weights sum to sessions per request, so their inverse is requests per session.
  const meanPerSession = 1 / Object.values(sessionWeights).reduce((s, w) => s + w, 0);
  const sessionRate = rate / meanPerSession / 1000; // sessions per ms
  const pending: { at: number; build: (self: number) => Req }[] = [];
  let t = 0;
  const staffToken = () => rng.pick(staff).i;
  for (;;) {
    t += -Math.log(1 - rng.next()) / sessionRate;
    if (t >= durationMs) break;
    // The session's start, fixed now: the builders run after the loop, when `t` has moved on.
    const start = t;
    const kind = rng.weighted(sessionWeights);
    const token = staffToken();
    if (kind === 'connectors') pending.push({ at: start, build: () => ({ at: start, shape: 'connectors list', token, vars: {} }) });
    else if (kind === 'search') {
      const word = (rng.pick(pop.users).name.split(' ')[0] ?? 'a').toLowerCase();
      const last = Math.min(word.length, 2 + rng.int(0, 3));
      const c = pop.mainConnectorId;
      let at = start;
      for (let n = 2; n <= Math.max(2, last); n++, at += KEYSTROKE_MS) {
        const when = at;
        pending.push({ at: when, build: () => ({ at: when, shape: 'user search (type-ahead)', token, vars: { c, t: word.slice(0, n) } }) });
      }
      const when = at - KEYSTROKE_MS + NEXT_PAGE_MS;
      const term = word.slice(0, Math.max(2, last));
      pending.push({ at: when, build: () => ({ at: when, shape: 'user search, next page', token, vars: { c, t: term } }) });
    } else if (kind === 'holders') {
      const e = pop.groupMemberEntitlements[groupRank(rng)]!;
      pending.push({ at: start, build: () => ({ at: start, shape: 'group holders', token, vars: { e } }) });
      const when = start + NEXT_PAGE_MS;
      pending.push({ at: when, build: () => ({ at: when, shape: 'group holders, next page', token, vars: { e } }) });
    } else if (kind === 'access') {
      const r = rng.pick(pop.users).id;
      pending.push({ at: start, build: () => ({ at: start, shape: 'effective access of a user', token, vars: { r } }) });
    } else {
      const which = rng.int(0, 4);
      const at = start;
      if (which === 0) {
        const r = rng.pick(pop.detailResources);
        pending.push({ at, build: () => ({ at, shape: 'resource detail', token, vars: { r } }) });
      } else if (which === 1 || which === 2) {
        // Most people look at the connector they work on (the big tenant); some at the others.
        const c = rng.chance(0.6) ? pop.mainConnectorId : rng.pick(pop.connectorIds);
        const shape: Shape = which === 1 ? 'sync runs' : 'audit log';
        pending.push({ at, build: () => ({ at, shape, token, vars: { c } }) });
      } else {
        const m = rng.pick(members);
        const shape: Shape = which === 3 ? 'me (member)' : 'review queue (member)';
        const vars = { c: pop.mainConnectorId, oid: m.c.oid, s: m.c.sub };
        pending.push({ at, build: () => ({ at, shape, token: m.i, vars }) });
      }
    }
  }
  const reqs = pending
    .filter((p) => p.at < durationMs)
    .sort((a, b) => a.at - b.at)
    .map((p, i) => p.build(i));
  // Each next page follows the latest earlier first page of the same session (same token and variables).
  const lastFirst = new Map<string, number>();
  reqs.forEach((r, i) => {
    const key = `${r.token}|${JSON.stringify(r.vars)}`;
    if (r.shape === 'user search (type-ahead)' || r.shape === 'group holders') lastFirst.set(key, i);
    if (r.shape === 'user search, next page' || r.shape === 'group holders, next page') {
      const dep = lastFirst.get(key);
      if (dep !== undefined) r.after = dep;
    }
  });
  return reqs.filter((r) => !(r.shape.endsWith('next page') && r.after === undefined));
}

/** The cursor a next page asks for: the first `endCursor` in the answer. */
export function endCursorOf(data: unknown): string | null {
  if (data === null || typeof data !== 'object') return null;
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (k === 'endCursor' && typeof v === 'string') return v;
    const found = endCursorOf(v);
    if (found) return found;
  }
  return null;
}

/**
 * An answer reduced to what both servers must agree on: every `totalCount` and every entity id with
 * its display name, sorted (lists that the contract does not order may come in another order).
 */
export function normalize(data: unknown): string {
  const counts: number[] = [];
  const ids: string[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (x === null || typeof x !== 'object') return;
    const o = x as Record<string, unknown>;
    if (typeof o.totalCount === 'number') counts.push(o.totalCount);
    if (typeof o.id === 'string' || typeof o.id === 'number')
      ids.push(`${String(o.id)}:${typeof o.displayName === 'string' ? o.displayName : ''}`);
    for (const [k, v] of Object.entries(o)) if (k !== 'profile' && k !== 'details' && k !== 'stats') walk(v);
  };
  walk(data);
  return JSON.stringify({ counts: counts.sort((a, b) => a - b), ids: ids.sort() });
}
