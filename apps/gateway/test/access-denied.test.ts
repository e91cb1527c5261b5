import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ACCESS_DENIED_ACTION, DeniedAttemptLimiter } from '../src/auth/access-denied-audit';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db, { owners: ['owner-alice'] });
});
afterAll(async () => h?.close());

const deniedRows = (actor: string) =>
  h.db.selectFrom('audit_events').selectAll().where('action', '=', ACCESS_DENIED_ACTION).where('actor', '=', actor).orderBy('id').execute();

describe('FORBIDDEN attempts are audited as access.denied', () => {
  it("a VIEWER's forbidden mutation writes one row: subject, role, what was attempted, the connector", async () => {
    const token = await h.token('VIEWER', 'vera');
    const r = await h.gql(token, 'mutation Wipe($id: ID!) { deleteConnector(id: $id) }', { id: f.connectorId });
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const rows = await deniedRows('vera');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'vera', action: 'access.denied', connector_id: f.connectorId });
    expect(rows[0]!.details).toMatchObject({
      role: 'VIEWER',
      attempted: 'Mutation.deleteConnector',
      operationName: 'Wipe',
      reason: 'your role is read-only (VIEWER)',
      suppressedBefore: 0,
    });
    // The connector is still there and nothing else was audited for it.
    expect(await h.db.selectFrom('connectors').select('id').where('id', '=', f.connectorId).executeTakeFirst()).toBeTruthy();
    expect((await h.db.selectFrom('audit_events').select('action').where('actor', '=', 'vera').execute()).map((a) => a.action)).toEqual([
      'access.denied',
    ]);
  });

  it('a CONNECTOR_ADMIN acting on a connector they do not own, and a VIEWER creating one, are audited too; no token is not', async () => {
    const bob = await h.token('CONNECTOR_ADMIN', 'bob');
    expect(
      (await h.gql(bob, 'mutation($id: ID!) { triggerSync(connectorId: $id) { id } }', { id: f.connectorId })).errors?.[0]?.extensions
        ?.code,
    ).toBe('FORBIDDEN');
    expect((await deniedRows('bob')).map((r) => [r.connector_id, (r.details as { attempted: string }).attempted])).toEqual([
      [f.connectorId, 'Mutation.triggerSync'],
    ]);
    const viv = await h.token('VIEWER', 'viv');
    expect(
      (await h.gql(viv, 'mutation { createConnector(input: { displayName: "x", authMethod: CLIENT_SECRET }) { id } }')).errors?.[0]
        ?.extensions?.code,
    ).toBe('FORBIDDEN');
    expect((await deniedRows('viv')).map((r) => [r.connector_id, (r.details as { attempted: string }).attempted])).toEqual([
      [null, 'Mutation.createConnector'],
    ]);
    const before = (await h.db.selectFrom('audit_events').select('id').execute()).length;
    expect(
      (await h.gql(null, 'mutation($id: ID!) { deleteConnector(id: $id) }', { id: f.connectorId })).errors?.[0]?.extensions?.code,
    ).toBe('UNAUTHENTICATED');
    expect((await h.db.selectFrom('audit_events').select('id').execute()).length).toBe(before);
  });

  it("a VIEWER's grant is audited with the connector of the entitlement; a VIEWER naming no existing connector or entitlement gets NOT_FOUND, as before", async () => {
    const token = await h.token('VIEWER', 'greta');
    const r = await h.gql(token, 'mutation($e: ID!, $p: ID!) { grant(input: { entitlementId: $e, principalId: $p }) { id } }', {
      e: f.bigGroup.memberEntitlementId,
      p: f.users[3]!.id,
    });
    expect(r.errors?.[0]).toMatchObject({ message: 'your role is read-only (VIEWER)', extensions: { code: 'FORBIDDEN' } });
    expect((await deniedRows('greta')).map((x) => [x.connector_id, (x.details as { attempted: string }).attempted])).toEqual([
      [f.connectorId, 'Mutation.grant'],
    ]);
    const missing = '00000000-0000-4000-8000-000000000009';
    for (const [query, vars] of [
      ['mutation($id: ID!) { deleteConnector(id: $id) }', { id: missing }],
      ['mutation($id: ID!) { triggerSync(connectorId: $id) { id } }', { id: 'not-a-uuid' }],
      ['mutation($e: ID!, $p: ID!) { revoke(input: { entitlementId: $e, principalId: $p }) { id } }', { e: missing, p: f.users[3]!.id }],
    ] as const) {
      expect((await h.gql(token, query, vars)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    expect(await deniedRows('greta')).toHaveLength(1);
  });

  it('50 rapid attempts (and aliased copies in one document) write a bounded number of rows: one per subject per operation per minute', async () => {
    const token = await h.token('VIEWER', 'victor');
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.gql(token, 'mutation($id: ID!) { updateConnector(id: $id, input: { displayName: "pwned" }) { id } }', { id: f.connectorId }),
      ),
    );
    expect(results.every((r) => r.errors?.[0]?.extensions?.code === 'FORBIDDEN')).toBe(true);
    // Aliases do not make new operations: copies of deleteConnector under other names, in 5 requests
    // (the first FORBIDDEN of a non-null mutation field ends each request's serial execution).
    const aliased = Array.from({ length: 10 }, (_, i) => `d${i}: deleteConnector(id: $id)`).join(' ');
    for (let i = 0; i < 5; i++) {
      const r = await h.gql(token, `mutation($id: ID!) { ${aliased} }`, { id: f.connectorId });
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const rows = await deniedRows('victor');
    expect(rows.map((x) => (x.details as { attempted: string }).attempted).sort()).toEqual([
      'Mutation.deleteConnector',
      'Mutation.updateConnector',
    ]);
    // Another subject is not silenced by victor's burst.
    const other = await h.token('VIEWER', 'wendy');
    await h.gql(other, 'mutation($id: ID!) { updateConnector(id: $id, input: { displayName: "x" }) { id } }', { id: f.connectorId });
    expect(await deniedRows('wendy')).toHaveLength(1);
  });
});

describe('FORBIDDEN attempts over graphql-ws', () => {
  it('are audited like those over HTTP (a mutation sent on the socket)', async () => {
    const token = await h.token('VIEWER', 'wanda');
    const c = createClient({
      url: h.gateway.url.replace('http:', 'ws:'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
    });
    try {
      const result = await new Promise<{ errors?: readonly { extensions?: { code?: string } }[] }>((resolve, reject) => {
        let last: { errors?: readonly { extensions?: { code?: string } }[] } = {};
        c.subscribe(
          { query: 'mutation OverWs($id: ID!) { deleteConnector(id: $id) }', variables: { id: f.connectorId } },
          {
            next: (v) => (last = v as typeof last),
            error: reject,
            complete: () => resolve(last),
          },
        );
      });
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    } finally {
      await c.dispose();
    }
    const rows = await deniedRows('wanda');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ connector_id: f.connectorId });
    expect(rows[0]!.details).toMatchObject({ role: 'VIEWER', attempted: 'Mutation.deleteConnector', operationName: 'OverWs' });
    expect(await h.db.selectFrom('connectors').select('id').where('id', '=', f.connectorId).executeTakeFirst()).toBeTruthy();
  });
});

describe('DeniedAttemptLimiter', () => {
  it('admits one per (subject, operation) per window and reports the suppressed count in the next row', () => {
    let now = 0;
    const limiter = new DeniedAttemptLimiter(60_000, 3, () => now);
    expect(limiter.admit('a', 'op')).toEqual({ suppressedBefore: 0 });
    for (let i = 0; i < 49; i++) expect(limiter.admit('a', 'op')).toBeNull();
    expect(limiter.admit('a', 'other')).toEqual({ suppressedBefore: 0 });
    now = 59_999;
    expect(limiter.admit('a', 'op')).toBeNull();
    now = 60_000;
    expect(limiter.admit('a', 'op')).toEqual({ suppressedBefore: 50 });
    expect(limiter.admit('a', 'op')).toBeNull();
    // Bounded memory: the pair written longest ago is forgotten first.
    limiter.admit('b', 'op');
    limiter.admit('c', 'op');
    expect(limiter.admit('a', 'other')).toEqual({ suppressedBefore: 0 });
  });
});
