import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../src/auth/jwt';
import { parseEnvironment } from '../src/environment';
import { seedTenant, type Fixture } from './support/fixture';
import { JWT_SECRET, startHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;
let token: string;
const here = path.dirname(fileURLToPath(import.meta.url));

beforeAll(async () => {
  h = await startHarness({ MAX_BODY_BYTES: '4096', METRICS_PORT: '0' });
  f = await seedTenant(h.db);
  token = await h.token('VIEWER', 'vera');
});
afterAll(async () => h?.close());

describe('limits and errors', () => {
  it('refuses documents nested too deep', async () => {
    const deep = `query($c: ID!) { grants(connectorId: $c) { edges { node { entitlement { resource { connector { lastSyncRun { connector { lastSyncRun { connector { lastSyncRun { connector { id } } } } } } } } } } } } }`;
    const r = await h.gql(token, deep, { c: f.connectorId });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/nested \d+ levels deep/);
  });

  it('refuses expensive documents by estimated cost before running them', async () => {
    const costly = `query($c: ID!) { grants(connectorId: $c, first: 500) { edges { node { principal { grants(first: 500) { edges { node { entitlement { grants(first: 500) { totalCount } } } } } } } } } }`;
    const r = await h.gql(token, costly, { c: f.connectorId });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/too expensive/);
    expect(r.data ?? null).toBeNull();
  });

  it('allows the standard introspection query (introspection fields are not counted as depth)', async () => {
    const { getIntrospectionQuery } = await import('graphql');
    const r = await h.gql(token, getIntrospectionQuery());
    expect(r.errors).toBeUndefined();
  });

  it('limits the request body size', async () => {
    const res = await fetch(h.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ connectors { totalCount } } # ${'x'.repeat(8000)}` }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('turns unexpected failures into INTERNAL_SERVER_ERROR with a request id, no stack, no SQL', async () => {
    // Break a table the resolver reads: the database error must not leak.
    await h.db.schema.alterTable('connector_logs').renameTo('connector_logs_hidden').execute();
    try {
      const r = await h.gql(token, 'query($id: ID!) { connector(id: $id) { logs { totalCount } } }', { id: f.connectorId });
      const e = r.errors![0]!;
      expect(e.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(e.extensions?.['requestId']).toMatch(/[0-9a-f-]{36}/);
      const text = JSON.stringify(r);
      expect(text).not.toMatch(/connector_logs|relation|select|stack|at \w+ \(/i);
    } finally {
      await h.db.schema.alterTable('connector_logs_hidden').renameTo('connector_logs').execute();
    }
  });

  it("only the contract's codes reach clients for bad documents", async () => {
    for (const q of ['{ nope }', '{ connectors { ', 'query($x: Int!) { connectors(first: $x) { totalCount } }']) {
      const r = await h.gql(token, q);
      expect(['BAD_USER_INPUT']).toContain(r.errors?.[0]?.extensions?.code);
      expect(JSON.stringify(r)).not.toMatch(/stacktrace/);
    }
  });
});

describe('operations endpoints', () => {
  it('/healthz, /readyz (Postgres and NATS) and /metrics', async () => {
    const base = new URL(h.gateway.url).origin;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', nats: 'ok' } });
    await h.gql(token, '{ connectors { totalCount } }');
    // /metrics lives on METRICS_PORT now (not on the API port).
    const metrics = await (await fetch(h.gateway.metricsUrl!)).text();
    // A successful POST /graphql is labelled with its route (Apollo answers inside the mounted router).
    expect(
      metrics
        .split('\n')
        .some(
          (l) =>
            l.startsWith('warden_gateway_http_request_duration_seconds_count{') &&
            l.includes('route="/graphql"') &&
            l.includes('status="200"') &&
            l.includes('method="POST"'),
        ),
    ).toBe(true);
    expect(metrics).toMatch(/warden_gateway_graphql_operations_total\{type="query",name="anonymous",outcome="ok"\} \d+/);
    // The response cache's change-feed markers are timed (what a hit waits for before it is served).
    const roundTrips = /^warden_gateway_change_feed_catch_up_seconds_count (\d+)$/m.exec(metrics);
    expect(Number(roundTrips?.[1])).toBeGreaterThan(0);
  });

  it('echoes a request id on every response', async () => {
    const res = await fetch(h.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': 'trace-123' },
      body: '{"query":"{ __typename }"}',
    });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
  });
});

describe('configuration and tokens', () => {
  it('lists every bad variable by name', () => {
    expect(() => parseEnvironment({ AUTH_JWT_SECRET: 'short', WARDEN_SECRET_KEYS: 'k1:abc', PORT: 'x' })).toThrow(
      /DATABASE_URL[\s\S]*WARDEN_SECRET_KEYS[\s\S]*PORT[\s\S]*AUTH_JWT_SECRET|DATABASE_URL/,
    );
    try {
      parseEnvironment({ AUTH_JWT_SECRET: 'short', WARDEN_SECRET_KEYS: 'k1:abc', PORT: 'x' });
    } catch (err) {
      const m = (err as Error).message;
      for (const v of ['DATABASE_URL', 'WARDEN_SECRET_KEYS', 'PORT', 'AUTH_JWT_SECRET']) expect(m).toContain(v);
    }
  });

  it('npm run -s token prints only a token that the gateway accepts', () => {
    const out = execFileSync(
      path.resolve(here, '../../../node_modules/.bin/tsx'),
      [path.resolve(here, '../src/cli/mint-token.ts'), '--role', 'CONNECTOR_ADMIN', '--sub', 'alice', '--ttl', '1h'],
      {
        env: { ...process.env, AUTH_JWT_SECRET: JWT_SECRET },
        encoding: 'utf8',
      },
    );
    expect(out.trim().split('\n')).toHaveLength(1);
    return verifyToken({ secret: JWT_SECRET, issuer: 'warden' }, out.trim()).then((c) =>
      expect(c).toEqual({ sub: 'alice', role: 'CONNECTOR_ADMIN' }),
    );
  });
});
