import { getIntrospectionQuery } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../src/auth/jwt';
import { TOKEN_EXPIRED_CLOSE_CODE } from '../src/subscriptions/server';
import { seedTenant, type Fixture } from './support/fixture';
import { JWT_SECRET, startHarness, type Harness } from './support/harness';

// Attacks on the document limits, introspection, graphql-ws sessions and the metrics endpoint,
// each through the public surface (GraphQL over HTTP and over graphql-ws).

const WS_MAX_OPERATIONS = 3;
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

let h: Harness;
let f: Fixture;
let token: string;
const clients: Client[] = [];

beforeAll(async () => {
  h = await startHarness({ WS_MAX_OPERATIONS: String(WS_MAX_OPERATIONS), METRICS_PORT: '0', METRICS_MAX_OPERATION_NAMES: '20' });
  f = await seedTenant(h.db);
  token = await h.token('VIEWER', 'vera');
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await h?.close();
});

/** POST with an explicit Accept (application/json, what most clients send), returning status and body. */
async function post(gh: Harness, bearer: string | null, body: Record<string, unknown>, accept = 'application/json') {
  await gh.gateway.caughtUp();
  const res = await fetch(gh.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  return { status: res.status, ...json };
}

interface WsOutcome {
  data: unknown[];
  errors: Array<{ message: string; extensions?: { code?: string } }>;
  done: Promise<void>;
  dispose(): void;
}

function wsClient(gh: Harness, bearer: string, on: { closed?: (code: number, reason: string) => void } = {}): Client {
  const c = createClient({
    url: gh.gateway.url.replace('http:', 'ws:'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${bearer}` },
    retryAttempts: 0,
    lazy: true,
    on: { closed: (e) => on.closed?.((e as { code: number }).code, String((e as { reason?: string }).reason ?? '')) },
  });
  clients.push(c);
  return c;
}

function wsRun(c: Client, query: string, variables: Record<string, unknown> = {}): WsOutcome {
  const out: WsOutcome = { data: [], errors: [], done: Promise.resolve(), dispose: () => undefined };
  out.done = new Promise<void>((resolve) => {
    out.dispose = c.subscribe(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) out.errors.push(...(v.errors as WsOutcome['errors']));
          if (v.data) out.data.push(v.data);
        },
        error: (e) => {
          if (Array.isArray(e)) out.errors.push(...(e as WsOutcome['errors']));
          else out.errors.push({ message: String((e as { reason?: string }).reason ?? e) });
          resolve();
        },
        complete: () => resolve(),
      },
    );
  });
  return out;
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(cond()).toBe(true);
};

/** The costly query of security-ops.test.ts (500 × 500 × 500 rows). */
const COSTLY_SELECTION = `grants(connectorId: $c, first: 500) { edges { node { principal { grants(first: 500) { edges { node { entitlement { grants(first: 500) { totalCount } } } } } } } } }`;

/**
 * The costly query padded with 15 levels of fragments, each spreading the one below twice: graphql
 * executes it cheaply (each fragment once per selection set), but graphql-query-complexity walks
 * 2^15 spreads, gives up after 10,000 nodes, and the old plugin then let the document run unpriced.
 */
function paddedCostlyQuery(levels = 15): string {
  const frags = ['fragment P0 on Query { __typename }'];
  for (let i = 1; i <= levels; i++) frags.push(`fragment P${i} on Query { ...P${i - 1} ... on Query { ...P${i - 1} } }`);
  return `query Padded($c: ID!) { ...P${levels} ${COSTLY_SELECTION} }\n${frags.join('\n')}`;
}

const aliasFlood = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: connectors(first: 1) { totalCount }`).join(' ')} }`;

/** `__type { fields { type { ofType { ofType … } } } }`, `depth` levels of ofType. */
const deepOfType = (depth: number) =>
  `{ __type(name: "Query") { fields { type { ${'ofType { '.repeat(depth)}name${' }'.repeat(depth)} } } } }`;

describe('cost limit fails closed', () => {
  it('refuses a query whose cost cannot be computed (nested-fragment padding) with HTTP 400 and BAD_USER_INPUT', async () => {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const r = await post(h, token, { query: paddedCostlyQuery(), variables: { c: f.connectorId } }, accept);
      expect(r.status).toBe(400);
      expect(r.data ?? null).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.message).toMatch(/cannot be costed/);
      // Only the contract's code reaches the client (no internal marker, no http extension).
      expect(r.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    }
  });

  it('answers a query refused for its cost with HTTP 400 (it was 500)', async () => {
    const r = await post(h, token, { query: `query($c: ID!) { ${COSTLY_SELECTION} }`, variables: { c: f.connectorId } });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/too expensive/);
  });

  it('prices `first` from variables too', async () => {
    const q =
      'query($c: ID!, $n: Int!) { grants(connectorId: $c, first: $n) { edges { node { principal { grants(first: $n) { edges { node { entitlement { grants(first: $n) { totalCount } } } } } } } } } }';
    expect((await post(h, token, { query: q, variables: { c: f.connectorId, n: 500 } })).status).toBe(400);
    const small = await post(h, token, { query: q, variables: { c: f.connectorId, n: 2 } });
    expect(small.status).toBe(200);
    expect(small.errors).toBeUndefined();
  });

  it('still reports variables that do not coerce as BAD_USER_INPUT', async () => {
    const r = await post(h, token, { query: 'query($n: Int!) { connectors(first: $n) { totalCount } }', variables: { n: 'many' } });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.data ?? null).toBeNull();
  });

  it('refuses the same expensive and uncostable queries over graphql-ws', async () => {
    const c = wsClient(h, token);
    const costly = wsRun(c, `query($c: ID!) { ${COSTLY_SELECTION} }`, { c: f.connectorId });
    await costly.done;
    expect(costly.data).toEqual([]);
    expect(costly.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(costly.errors[0]?.message).toMatch(/too expensive/);
    const padded = wsRun(c, paddedCostlyQuery(), { c: f.connectorId });
    await padded.done;
    expect(padded.data).toEqual([]);
    expect(padded.errors[0]?.message).toMatch(/cannot be costed/);
  });
});

describe('alias, token and depth limits on both transports', () => {
  it('refuses an alias flood over HTTP with 400', async () => {
    const r = await post(h, token, { query: aliasFlood(40) });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/Aliases limit of 30 exceeded, found 40/);
    // Within the limit it runs.
    const ok = await post(h, token, { query: aliasFlood(5) });
    expect(ok.status).toBe(200);
    expect(ok.errors).toBeUndefined();
  });

  it('refuses an alias flood hidden in fragments (each spread counts)', async () => {
    const q = `{ ...A ...B } fragment A on Query { ${Array.from({ length: 20 }, (_, i) => `x${i}: connectors(first: 1) { totalCount }`).join(' ')} } fragment B on Query { ${Array.from({ length: 20 }, (_, i) => `y${i}: connectors(first: 1) { totalCount }`).join(' ')} }`;
    const r = await post(h, token, { query: q });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.message).toMatch(/Aliases limit/);
  });

  it('refuses an alias flood over graphql-ws', async () => {
    const run = wsRun(wsClient(h, token), aliasFlood(40));
    await run.done;
    expect(run.data).toEqual([]);
    expect(run.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(run.errors[0]?.message).toMatch(/Aliases limit/);
  });

  it('refuses a document of too many tokens on both transports', async () => {
    const q = `{ connectors { totalCount ${'__typename '.repeat(2100)} } }`;
    const r = await post(h, token, { query: q });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/more th(?:an|at) 2000 tokens/);
    const run = wsRun(wsClient(h, token), q);
    await run.done;
    expect(run.data).toEqual([]);
    expect(run.errors[0]?.message).toMatch(/tokens/);
  });

  it('refuses too many directives', async () => {
    const q = `{ connectors { totalCount ${'@include(if: true) '.repeat(60)} } }`;
    const r = await post(h, token, { query: q });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.message).toMatch(/Directives limit/);
  });

  it('refuses a document nested too deep with 400 over HTTP too', async () => {
    const deep = `query($c: ID!) { grants(connectorId: $c) { edges { node { entitlement { resource { connector { lastSyncRun { connector { lastSyncRun { connector { lastSyncRun { connector { id } } } } } } } } } } } } }`;
    const r = await post(h, token, { query: deep, variables: { c: f.connectorId } });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.message).toMatch(/nested \d+ levels deep/);
  });
});

describe('introspection', () => {
  it('is refused without a token (HTTP 401 UNAUTHENTICATED), while __typename still answers', async () => {
    for (const query of [
      getIntrospectionQuery(),
      '{ __type(name: "Query") { name } }',
      '{ ...F } fragment F on Query { __schema { queryType { name } } }',
    ]) {
      const r = await post(h, null, { query });
      expect(r.status).toBe(401);
      expect(r.data ?? null).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const plain = await post(h, null, { query: '{ __typename }' });
    expect(plain.status).toBe(200);
    expect(plain.data).toEqual({ __typename: 'Query' });
  });

  it('is never served from the response cache to a caller without a token', async () => {
    const query = getIntrospectionQuery();
    // Twice with a token: the second answer comes from the cache (fast path).
    expect((await post(h, token, { query })).errors).toBeUndefined();
    expect((await post(h, token, { query })).errors).toBeUndefined();
    const r = await post(h, null, { query });
    expect(r.status).toBe(401);
    expect(r.data ?? null).toBeNull();
  });

  it("answers graphql's standard introspection query (every option) for an authenticated caller, over HTTP and graphql-ws", async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const r = await post(h, token, { query });
    expect(r.status).toBe(200);
    expect(r.errors).toBeUndefined();
    expect((r.data as { __schema: { types: unknown[] } }).__schema.types.length).toBeGreaterThan(10);
    const run = wsRun(wsClient(h, token), query);
    await run.done;
    expect(run.errors).toEqual([]);
    expect(run.data).toHaveLength(1);
  });

  it('refuses a deep __type { ofType { ofType … } } chain on both transports', async () => {
    const r = await post(h, token, { query: deepOfType(30) });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/introspection query is nested \d+ levels deep/);
    const run = wsRun(wsClient(h, token), deepOfType(30));
    await run.done;
    expect(run.data).toEqual([]);
    expect(run.errors[0]?.message).toMatch(/introspection query is nested/);
  });
});

describe('graphql-ws sessions', () => {
  it('closes a socket with 4401 when its token expires', async () => {
    const short = await mintToken({ secret: JWT_SECRET, issuer: 'warden' }, { sub: 'vera', role: 'VIEWER', ttl: '2s' });
    let closedWith: number | null = null;
    const c = wsClient(h, short, { closed: (code) => (closedWith = code) });
    const sub = wsRun(c, 'subscription($c: ID!) { syncRunUpdated(connectorId: $c) { id } }', { c: f.connectorId });
    const started = Date.now();
    await until(() => closedWith !== null, 6000);
    expect(closedWith).toBe(TOKEN_EXPIRED_CLOSE_CODE);
    // Not before the token's exp (2 s after minting, rounded down to the second).
    expect(Date.now() - started).toBeGreaterThan(500);
    await sub.done;
  });

  it('refuses the operation beyond WS_MAX_OPERATIONS on one socket, and accepts one again after a complete', async () => {
    const c = wsClient(h, token);
    const q = 'subscription($c: ID!) { syncRunUpdated(connectorId: $c) { id } }';
    const running = Array.from({ length: WS_MAX_OPERATIONS }, () => wsRun(c, q, { c: f.connectorId }));
    const extra = wsRun(c, q, { c: f.connectorId });
    await Promise.race([extra.done, new Promise((r) => setTimeout(r, 3000))]);
    expect(extra.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(extra.errors[0]?.message).toMatch(/too many operations on this socket: at most 3/);
    // The others still run; after one completes, there is room again.
    expect(running.every((r) => r.errors.length === 0)).toBe(true);
    running[0]!.dispose();
    await new Promise((r) => setTimeout(r, 200));
    const again = wsRun(c, '{ connectors { totalCount } }');
    await again.done;
    expect(again.errors).toEqual([]);
    expect(again.data).toHaveLength(1);
    for (const r of running) r.dispose();
  });
});

describe('metrics', () => {
  it('1,000 random operation names from unauthenticated requests do not become 1,000 label values', async () => {
    const names = Array.from({ length: 1000 }, (_, i) => `Op${i}_${Math.random().toString(36).slice(2)}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((n) =>
          fetch(h.gateway.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: `query ${n} { __typename }`, operationName: n }),
          }),
        ),
      );
    }
    // Named operations from an authenticated caller are labelled by name (up to METRICS_MAX_OPERATION_NAMES).
    await post(h, token, { query: 'query DashboardConnectors { connectors { totalCount } }' });
    const text = await (await fetch(h.gateway.metricsUrl!)).text();
    const labels = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('warden_gateway_graphql_operations_total{'))
        .map((l) => /name="([^"]*)"/.exec(l)?.[1]),
    );
    expect(labels.size).toBeLessThanOrEqual(22);
    expect(labels.has('other')).toBe(true);
    expect(labels.has('DashboardConnectors')).toBe(true);
    for (const n of names) expect(labels.has(n)).toBe(false);
    // Authenticated callers cannot grow it without bound either.
    for (let i = 0; i < 40; i++) await post(h, token, { query: `query Named${i} { __typename }` });
    const after = await (await fetch(h.gateway.metricsUrl!)).text();
    const names2 = new Set(
      after
        .split('\n')
        .filter((l) => l.startsWith('warden_gateway_graphql_operations_total{'))
        .map((l) => /name="([^"]*)"/.exec(l)?.[1]),
    );
    expect(names2.size).toBeLessThanOrEqual(22);
  });

  it('/metrics is not served on the API port; it is on METRICS_PORT', async () => {
    const base = new URL(h.gateway.url).origin;
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    const res = await fetch(h.gateway.metricsUrl!);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/warden_gateway_http_request_duration_seconds/);
    expect((await fetch(h.gateway.metricsUrl!.replace('/metrics', '/healthz'))).status).toBe(200);
    expect((await fetch(h.gateway.metricsUrl!.replace('/metrics', '/graphql'))).status).toBe(404);
  });
});

describe('GRAPHQL_INTROSPECTION=false and METRICS_TOKEN', () => {
  let h2: Harness;
  let token2: string;
  beforeAll(async () => {
    h2 = await startHarness({ GRAPHQL_INTROSPECTION: 'false', METRICS_TOKEN, METRICS_PORT: '0' });
    token2 = await h2.token('SUPER_ADMIN', 'root');
  });
  afterAll(async () => h2?.close());

  it('refuses introspection even to an authenticated caller, on both transports', async () => {
    const r = await post(h2, token2, { query: getIntrospectionQuery() });
    expect(r.status).toBe(400);
    expect(r.data ?? null).toBeNull();
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/introspection is turned off/);
    expect(r.errors).toHaveLength(1);
    const run = wsRun(wsClient(h2, token2), '{ __type(name: "Query") { name } }');
    await run.done;
    expect(run.data).toEqual([]);
    expect(run.errors[0]?.message).toMatch(/introspection/i);
    // Ordinary queries are unaffected.
    expect((await post(h2, token2, { query: '{ __typename connectors { totalCount } }' })).errors).toBeUndefined();
  });

  it('serves /metrics only with the METRICS_TOKEN, on the API port and on METRICS_PORT', async () => {
    const apiMetrics = `${new URL(h2.gateway.url).origin}/metrics`;
    for (const url of [apiMetrics, h2.gateway.metricsUrl!]) {
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${token2}` } })).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/warden_gateway_graphql_operations_total|warden_gateway_process/);
    }
  });
});
