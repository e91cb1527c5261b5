import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { entitlementKey, type Database } from '@warden/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type Fixture } from './support/fixture';
import { startTcpProxy } from './support/tcp-proxy';
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
    .values({
      connector_id: f.connectorId,
      type: 'USER',
      external_id: `added-${n}`,
      display_name: `Added ${n}`,
      profile: '{}',
      search_text: `added ${n}`,
    })
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
    // At once: a hit waits until the feed has heard every change committed before the request came.
    expect((await post(USERS, { c: f.connectorId })).data?.resources?.totalCount).toBe(31);
  });

  it('keeps an answer through changes to other connectors and to tables it does not read, and retires it on a change to what it read', async () => {
    const cache = h.gateway.responseCache!;
    const before = (await post(USERS, { c: f.connectorId })).data!.resources!.totalCount;
    const other = await h.testDb.db
      .insertInto('connectors')
      .values({ display_name: 'Another tenant', auth_method: 'CLIENT_SECRET' })
      .returning('id')
      .executeTakeFirstOrThrow();
    // What a sync of another connector writes, and a grant in this one (the page reads no grants).
    await h.testDb.db
      .insertInto('resources')
      .values({
        connector_id: other.id,
        type: 'USER',
        external_id: 'elsewhere',
        display_name: 'Elsewhere',
        profile: '{}',
        search_text: 'e',
      })
      .execute();
    await h.testDb.db
      .insertInto('grants')
      .values({
        connector_id: f.connectorId,
        entitlement_key: f.bigGroup.memberKey,
        principal_external_id: 'someone-new',
        principal_kind: 'USER',
        direct: true,
      })
      .execute();
    statements.length = 0;
    const hits = cache.stats.hits;
    expect((await post(USERS, { c: f.connectorId })).data?.resources?.totalCount).toBe(before);
    expect(cache.stats.hits).toBe(hits + 1);
    expect(statements).toEqual([]);
    // A renamed user of this connector: the next answer is read again.
    await h.testDb.db.updateTable('resources').set({ display_name: 'Renamed' }).where('external_id', '=', f.users[0]!.externalId).execute();
    const stale = cache.stats.stale;
    expect((await post(USERS, { c: f.connectorId })).data?.resources?.totalCount).toBe(before);
    expect(cache.stats.stale).toBe(stale + 1);
    expect(statements.length).toBeGreaterThan(0);
  });

  it("keeps a group's holders and a user's access through grants and revokes of other groups and users, and retires them on their own", async () => {
    const cache = h.gateway.responseCache!;
    const HOLDERS =
      'query($e: ID!) { entitlement(id: $e) { grants(first: 50) { totalCount edges { node { direct principal { displayName } } } } } }';
    const ACCESS = 'query($r: ID!) { resource(id: $r) { grants(first: 100) { totalCount edges { node { entitlement { key } } } } } }';
    const holders = async () =>
      (await post(HOLDERS, { e: f.bigGroup.memberEntitlementId })) as { data: { entitlement: { grants: { totalCount: number } } } };
    const access = async (id: string) => (await post(ACCESS, { r: id })) as { data: { resource: { grants: { totalCount: number } } } };
    const [alice, bob] = [f.users[20]!, f.users[21]!];
    const other = (n: number) => ({
      connector_id: f.connectorId,
      entitlement_key: f.nestedGroup.memberKey,
      principal_external_id: `outsider-${n}`,
      principal_kind: 'USER' as const,
      direct: true,
    });
    const cached = async () => {
      const [n, a] = [(await holders()).data.entitlement.grants.totalCount, (await access(alice.id)).data.resource.grants.totalCount];
      const hits = cache.stats.hits;
      expect((await holders()).data.entitlement.grants.totalCount).toBe(n);
      expect((await access(alice.id)).data.resource.grants.totalCount).toBe(a);
      expect(cache.stats.hits).toBe(hits + 2);
      return [n, a] as const;
    };
    const [n0, a0] = await cached();

    // A grant and a revoke of another group to other people (the provision worker's write-through):
    // neither answer read those rows, both are still served from the cache, without SQL.
    await h.testDb.db.insertInto('grants').values(other(1)).execute();
    await h.testDb.db.deleteFrom('grants').where('principal_external_id', '=', 'outsider-1').execute();
    statements.length = 0;
    let hits = cache.stats.hits;
    expect((await holders()).data.entitlement.grants.totalCount).toBe(n0);
    expect((await access(alice.id)).data.resource.grants.totalCount).toBe(a0);
    expect(cache.stats.hits).toBe(hits + 2);
    expect(statements).toEqual([]);

    // Someone new joins the big group: its holders are read again, Alice's access is not.
    await h.testDb.db
      .insertInto('grants')
      .values({ ...other(2), entitlement_key: f.bigGroup.memberKey })
      .execute();
    hits = cache.stats.hits;
    const stale = cache.stats.stale;
    const n1 = (await holders()).data.entitlement.grants.totalCount;
    expect(n1).toBe(n0 + 1);
    expect(cache.stats.stale).toBe(stale + 1);
    expect((await access(alice.id)).data.resource.grants.totalCount).toBe(a0);
    expect(cache.stats.hits).toBe(hits + 1);

    // Alice gets another group (a grant of a group whose holders nobody asked for): her access is read
    // again, with the new row; the big group's holders are kept.
    await h.testDb.db
      .insertInto('grants')
      .values({ ...other(3), principal_external_id: alice.externalId })
      .execute();
    expect((await access(alice.id)).data.resource.grants.totalCount).toBe(a0 + 1);
    hits = cache.stats.hits;
    expect((await holders()).data.entitlement.grants.totalCount).toBe(n1);
    expect(cache.stats.hits).toBe(hits + 1);

    // A statement that names no rows (several connectors at once, or a sync's big batch) retires
    // every grants answer of the connector: here 300 rows of one group.
    await cached();
    const batch = Array.from({ length: 300 }, (_, i) => ({ ...other(100 + i), entitlement_key: 'GROUP:batch:member' }));
    await h.testDb.db.insertInto('grants').values(batch).execute();
    const staleBefore = cache.stats.stale;
    await holders();
    await access(alice.id);
    expect(cache.stats.stale).toBe(staleBefore + 2);

    // The bench's read-back (root grants by entitlement and principal) follows that pair's rows.
    const PAIR =
      'query($c: ID!, $e: ID, $p: ID) { grants(connectorId: $c, entitlementId: $e, principalId: $p, includeInherited: false) { totalCount } }';
    const pair = async () =>
      (
        (await post(PAIR, { c: f.connectorId, e: f.bigGroup.memberEntitlementId, p: alice.id })) as {
          data: { grants: { totalCount: number } };
        }
      ).data.grants.totalCount;
    const before = await pair();
    expect(await pair()).toBe(before);
    await h.testDb.db
      .insertInto('grants')
      .values({ ...other(4), principal_external_id: bob.externalId })
      .execute();
    hits = cache.stats.hits;
    expect(await pair()).toBe(before);
    expect(cache.stats.hits).toBe(hits + 1);
    const revoked = await h.testDb.db
      .deleteFrom('grants')
      .where('connector_id', '=', f.connectorId)
      .where('entitlement_key', '=', f.bigGroup.memberKey)
      .where('principal_external_id', '=', alice.externalId)
      .where('direct', '=', true)
      .executeTakeFirst();
    expect(await pair()).toBe(before - Number(revoked.numDeletedRows));
    await h.testDb.db.deleteFrom('grants').where('principal_external_id', 'like', 'outsider-%').execute();
    await h.testDb.db
      .deleteFrom('grants')
      .where('principal_external_id', '=', alice.externalId)
      .where('entitlement_key', '=', f.nestedGroup.memberKey)
      .where('direct', '=', true)
      .execute();
  });

  it('answers a hit before Apollo with the bytes and headers Apollo sends, and leaves other media types and bad tokens to Apollo', async () => {
    const raw = (headers: Record<string, string>) =>
      fetch(h.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: USERS, variables: { c: f.connectorId } }),
      });
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
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'warden-gateway-changes' AND datname = current_database()`.execute(
      h.testDb.db,
    );
    await until(
      async () => cache.feed.live,
      (live) => !live,
    );
    expect(cache.feed.live).toBe(false);
    await addUser(2);
    // No wait for any notification: with the feed down every query reads the database.
    expect((await post(USERS, { c: f.connectorId })).data?.resources?.totalCount).toBe(before + 1);
    await until(
      async () => cache.feed.live,
      (live) => live,
      5_000,
    );
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

  it('turns itself off when the change feed goes silent without any error, and never serves an old answer meanwhile', async () => {
    // The feed reaches Postgres through a proxy that the test stalls; every other query goes direct.
    const target = new URL(h.testDb.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(h.testDb.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const h2 = await startHarness(
      { DATABASE_URL: viaProxy.toString(), RESPONSE_CACHE_HEARTBEAT_MS: '200' },
      {
        dbFactory: (url) =>
          new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 3 }) }) }),
      },
    );
    try {
      const f2 = await seedTenant(h2.db, { userCount: 20 });
      const t = await h2.token('VIEWER', 'vera');
      const ask = async () => {
        const r = await fetch(h2.gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
          body: JSON.stringify({ query: USERS, variables: { c: f2.connectorId } }),
        });
        return ((await r.json()) as { data: { resources: { totalCount: number } } }).data.resources.totalCount;
      };
      const cache = h2.gateway.responseCache!;
      await until(
        async () => cache.feed.live,
        (live) => live,
      );
      expect(await ask()).toBe(20);
      const hits = cache.stats.hits;
      expect(await ask()).toBe(20);
      expect(cache.stats.hits).toBe(hits + 1);

      proxy.stall();
      await h2.db
        .insertInto('resources')
        .values({
          connector_id: f2.connectorId,
          type: 'USER',
          external_id: 'silent-1',
          display_name: 'Silent',
          profile: '{}',
          search_text: 'silent',
        })
        .execute();
      // The insert's notification cannot arrive, nor can the marker a hit waits for: the request
      // waits until the heartbeat gives up on the feed, then reads afresh — never the old answer.
      expect(await ask()).toBe(21);
      expect(cache.feed.live).toBe(false);
    } finally {
      await h2.close();
      await proxy.close();
    }
  });

  it('shows a grant read back after its task succeeded, even while the change notifications are still on their way', async () => {
    // The feed reaches Postgres through a proxy that holds back what the server sends (notifications
    // in flight); the writer and the gateway's own queries go direct.
    const target = new URL(h.testDb.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(h.testDb.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const h2 = await startHarness(
      { DATABASE_URL: viaProxy.toString(), RESPONSE_CACHE_HEARTBEAT_MS: '60000' },
      // The gateway's own queries go straight to the database its feed listens to.
      {
        dbFactory: () =>
          new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: h.testDb.url, max: 3 }) }) }),
      },
    );
    try {
      const f2 = await seedTenant(h.testDb.db, { userCount: 20, name: 'Read-back' });
      const t = await h2.token('VIEWER', 'vera');
      const ask = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
        const r = await fetch(h2.gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
          body: JSON.stringify({ query, variables }),
        });
        return ((await r.json()) as { data: T }).data;
      };
      const HELD = 'query($r: ID!) { resource(id: $r) { grants(first: 100) { totalCount edges { node { entitlement { key } } } } } }';
      const user = f2.users[1]!;
      const held = async () =>
        (await ask<{ resource: { grants: { totalCount: number } } }>(HELD, { r: user.id })).resource.grants.totalCount;
      const cache = h2.gateway.responseCache!;
      await until(
        async () => cache.feed.live,
        (live) => live,
      );
      await h2.gateway.caughtUp(); // the seed's own notifications are in
      const before = await held();
      const hits = cache.stats.hits;
      expect(await held()).toBe(before);
      expect(cache.stats.hits).toBe(hits + 1);

      proxy.hold();
      // The provision worker's commit: the grant and its task's success in one transaction.
      const task = await h.testDb.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('grants')
          .values({
            connector_id: f2.connectorId,
            entitlement_key: entitlementKey('ENTERPRISE_APPLICATION', f2.app.externalId, 'assigned'),
            principal_external_id: user.externalId,
            principal_kind: 'USER',
            direct: true,
            source: 'provisioning',
          })
          .execute();
        return trx
          .insertInto('provisioning_tasks')
          .values({
            connector_id: f2.connectorId,
            action: 'GRANT',
            entitlement_id: f2.app.assignedEntitlementId,
            entitlement_key: entitlementKey('ENTERPRISE_APPLICATION', f2.app.externalId, 'assigned'),
            principal_id: user.id,
            principal_external_id: user.externalId,
            status: 'SUCCEEDED',
            requested_by: 'vera',
            idempotency_key: 'read-back',
          })
          .returning('id')
          .executeTakeFirstOrThrow();
      });
      // The client sees the task succeed (read from the database: nothing cached for it)...
      const status = await ask<{ provisioningTask: { status: string } }>('query($id: ID!) { provisioningTask(id: $id) { status } }', {
        id: task.id,
      });
      expect(status.provisioningTask.status).toBe('SUCCEEDED');
      // ...and reads the grants again while the notification is still held back: the cached page
      // may not be served until the feed has heard the commit.
      let answered = false;
      const readBack = held().then((n) => {
        answered = true;
        return n;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(answered).toBe(false);
      proxy.release();
      expect(await readBack).toBe(before + 1);
    } finally {
      await h2.close();
      await proxy.close();
    }
  });

  it('keeps answers that depend on who asks apart for each caller, and shares the rest within a role', async () => {
    const cache = h.gateway.responseCache!;
    const vera = token;
    const victor = await h.token('VIEWER', 'victor');
    const ME = '{ me { subject roles } }';
    const ME_IN_FRAGMENT = 'query Mine { ...Who } fragment Who on Query { me { subject } }';
    for (let i = 0; i < 2; i++) {
      for (const [t, sub] of [
        [vera, 'vera'],
        [victor, 'victor'],
      ] as const) {
        const r = await fetch(h.gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
          body: JSON.stringify({ query: ME }),
        });
        expect(await r.json()).toEqual({ data: { me: { subject: sub, roles: ['VIEWER'] } } });
        const g = await fetch(h.gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
          body: JSON.stringify({ query: ME_IN_FRAGMENT, operationName: 'Mine' }),
        });
        expect(await g.json()).toEqual({ data: { me: { subject: sub } } });
      }
    }
    // The same document by the same caller is still a hit.
    const hits = cache.stats.hits;
    const again = await fetch(h.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${victor}` },
      body: JSON.stringify({ query: ME }),
    });
    expect(await again.json()).toEqual({ data: { me: { subject: 'victor', roles: ['VIEWER'] } } });
    expect(cache.stats.hits).toBe(hits + 1);
    // A document that does not depend on the caller is shared by every caller of the role.
    await post(USERS, { c: f.connectorId }, vera);
    const shared = cache.stats.hits;
    await post(USERS, { c: f.connectorId }, victor);
    expect(cache.stats.hits).toBe(shared + 1);
  });
});
