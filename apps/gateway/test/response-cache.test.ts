import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './support/fixture';
import { startCountingHarness, startHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;
let token: string;
let statements: string[] = [];

beforeAll(async () => {
  ({ h, statements, f, token } = await startCountingHarness(30));
});
afterAll(async () => h?.close());

const USERS = 'query($c: ID!) { resources(connectorId: $c, type: USER, first: 5) { totalCount edges { node { displayName } } } }';

/** Straight HTTP, without the harness's wait for the change feed: what a dashboard does. */
async function post(query: string, variables: Record<string, unknown>, auth: string | null = token) {
  const r = await fetch(h.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await r.json()) as { data?: { resources?: { totalCount: number } } | null; errors?: { extensions?: { code?: string } }[] };
}

async function addUser(n: number): Promise<void> {
  // A write by another process (the sync worker): the gateway learns of it only through the feed.
  await h.testDb.db
    .insertInto('resources')
    .values({ connector_id: f.connectorId, type: 'USER', external_id: `added-${n}`, display_name: `Added ${n}`, profile: '{}', search_text: `added ${n}` })
    .execute();
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 3_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('response cache', () => {
  it('answers a repeated query without any SQL, and the same body', async () => {
    const first = await post(USERS, { c: f.connectorId });
    expect(first.data?.resources?.totalCount).toBe(30);
    statements.length = 0;
    const hits = h.gateway.responseCache!.stats.hits;
    const second = await post(USERS, { c: f.connectorId });
    expect(second).toEqual(first);
    expect(statements).toEqual([]);
    expect(h.gateway.responseCache!.stats.hits).toBe(hits + 1);
  });

  it('shows a row another process committed, without any help from the client', async () => {
    await post(USERS, { c: f.connectorId });
    await post(USERS, { c: f.connectorId });
    await addUser(1);
    const after = await until(() => post(USERS, { c: f.connectorId }), (r) => r.data?.resources?.totalCount === 31);
    expect(after.data?.resources?.totalCount).toBe(31);
  });

  it('answers a hit before Apollo with the bytes and headers Apollo sends, and leaves other media types and bad tokens to Apollo', async () => {
    const raw = (headers: Record<string, string>) =>
      fetch(h.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: USERS, variables: { c: f.connectorId } }) });
    const auth = { authorization: `Bearer ${token}` };
    h.gateway.responseCache!.feed.bump(); // whatever earlier tests cached is now stale
    const hits = h.gateway.responseCache!.stats.hits;
    const miss = await raw(auth);
    const missBody = await miss.text();
    const hit = await raw(auth);
    expect(await hit.text()).toBe(missBody);
    expect(hit.status).toBe(miss.status);
    expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'));
    expect(h.gateway.responseCache!.stats.hits).toBe(hits + 1);
    const graphqlJson = await raw({ ...auth, accept: 'application/graphql-response+json' });
    expect(graphqlJson.headers.get('content-type')).toContain('application/graphql-response+json');
    expect(JSON.parse(await graphqlJson.text())).toEqual(JSON.parse(missBody));
    const forged = await raw({ authorization: `Bearer ${token.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('never answers an unauthenticated request from the cache', async () => {
    await post(USERS, { c: f.connectorId });
    const anon = await post(USERS, { c: f.connectorId }, null);
    expect(anon.data ?? null).toBeNull();
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('keeps no answer that carries errors', async () => {
    const missing = 'query($c: ID!, $e: ID!) { grants(connectorId: $c, entitlementId: $e) { totalCount } }';
    const vars = { c: f.connectorId, e: '00000000-0000-4000-8000-000000000000' };
    const hits = h.gateway.responseCache!.stats.hits;
    for (let i = 0; i < 2; i++) expect((await post(missing, vars)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(h.gateway.responseCache!.stats.hits).toBe(hits);
  });

  it('turns itself off while the change feed is down, and serves fresh rows meanwhile', async () => {
    const cache = h.gateway.responseCache!;
    const before = (await post(USERS, { c: f.connectorId })).data!.resources!.totalCount;
    await post(USERS, { c: f.connectorId });
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'warden-gateway-changes' AND datname = current_database()`.execute(h.testDb.db);
    await until(async () => cache.feed.live, (live) => !live);
    expect(cache.feed.live).toBe(false);
    await addUser(2);
    // No wait for any notification: with the feed down every query reads the database.
    expect((await post(USERS, { c: f.connectorId })).data?.resources?.totalCount).toBe(before + 1);
    await until(async () => cache.feed.live, (live) => live, 5_000);
    expect(cache.feed.live).toBe(true);
    await post(USERS, { c: f.connectorId });
    statements.length = 0;
    expect((await post(USERS, { c: f.connectorId })).data?.resources?.totalCount).toBe(before + 1);
    expect(statements).toEqual([]);
  });

  it('is off when RESPONSE_CACHE_MB is 0', async () => {
    const h2 = await startHarness({ RESPONSE_CACHE_MB: '0' });
    try {
      expect(h2.gateway.responseCache).toBeNull();
      const t = await h2.token('VIEWER', 'vera');
      expect((await h2.gql(t, '{ connectors { totalCount } }')).data).toEqual({ connectors: { totalCount: 0 } });
    } finally {
      await h2.close();
    }
  });
});
