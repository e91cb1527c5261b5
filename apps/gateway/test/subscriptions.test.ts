import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;
const clients: Client[] = [];

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db);
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await h?.close();
});

function client(authorization: string | null): Client {
  const c = createClient({
    url: h.gateway.url.replace('http:', 'ws:'),
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(c);
  return c;
}

/** Subscribes and collects results; resolves `ready` after the server has had time to subscribe to NATS. */
function collect<T>(c: Client, query: string, variables: Record<string, unknown>) {
  const items: T[] = [];
  const errors: unknown[] = [];
  let closed: unknown = null;
  const dispose = c.subscribe<T>(
    { query, variables },
    {
      next: (v) => (v.errors ? errors.push(v.errors) : items.push(v.data as T)),
      error: (e) => {
        errors.push(e);
        closed = e;
      },
      complete: () => undefined,
    },
  );
  return { items, errors, dispose, closed: () => closed };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(cond()).toBe(true);
};

describe('subscriptions over graphql-ws', () => {
  it('streams sync run updates from NATS for the subscribed connector only, re-reading the row', async () => {
    const token = await h.token('VIEWER', 'vera');
    const c = client(`Bearer ${token}`);
    const sub = collect<{
      syncRunUpdated: { id: string; status: string; progress: string | null; stats: { users: number }; connector: { id: string } };
    }>(c, 'subscription($c: ID!) { syncRunUpdated(connectorId: $c) { id status progress stats { users } connector { id } } }', {
      c: f.connectorId,
    });
    await new Promise((r) => setTimeout(r, 300));
    const run = await h.db
      .insertInto('sync_runs')
      .values({
        connector_id: f.connectorId,
        mode: 'FULL',
        status: 'RUNNING',
        progress: 'users: 100 / 120',
        stats: JSON.stringify({ users: 100 }),
        checkpoint: '{}',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // Another replica (here: the test) publishes the events; this gateway relays them.
    h.testBus.bus.publishSyncRunUpdated({
      v: 1,
      runId: run.id,
      connectorId: f.connectorId,
      status: 'RUNNING',
      progress: 'users: 100 / 120',
      at: new Date().toISOString(),
    });
    h.testBus.bus.publishSyncRunUpdated({
      v: 1,
      runId: run.id,
      connectorId: '00000000-0000-4000-8000-000000000000',
      status: 'RUNNING',
      progress: 'other',
      at: new Date().toISOString(),
    });
    await until(() => sub.items.length === 1);
    expect(sub.items[0]!.syncRunUpdated).toMatchObject({
      id: run.id,
      status: 'RUNNING',
      progress: 'users: 100 / 120',
      stats: { users: 100 },
      connector: { id: f.connectorId },
    });
    await h.db
      .updateTable('sync_runs')
      .set({ status: 'SUCCEEDED', progress: 'done', stats: JSON.stringify({ users: 120 }) })
      .where('id', '=', run.id)
      .execute();
    h.testBus.bus.publishSyncRunUpdated({
      v: 1,
      runId: run.id,
      connectorId: f.connectorId,
      status: 'SUCCEEDED',
      progress: 'done',
      at: new Date().toISOString(),
    });
    await until(() => sub.items.length === 2);
    expect(sub.items[1]!.syncRunUpdated).toMatchObject({ status: 'SUCCEEDED', stats: { users: 120 } });
    expect(sub.errors).toEqual([]);
    sub.dispose();
  });

  it('streams provisioning task updates for one task', async () => {
    const token = await h.token('CONNECTOR_ADMIN', 'owner-alice');
    const created = await h.gql<{ grant: { id: string } }>(token, 'mutation($i: GrantInput!) { grant(input: $i) { id } }', {
      i: { entitlementId: f.app.assignedEntitlementId, principalId: f.users[7]!.id },
    });
    const id = created.data!.grant.id;
    const c = client(`Bearer ${token}`);
    const sub = collect<{ provisioningTaskUpdated: { id: string; status: string; error: string | null } }>(
      c,
      'subscription($id: ID!) { provisioningTaskUpdated(id: $id) { id status error } }',
      { id },
    );
    await new Promise((r) => setTimeout(r, 300));
    await h.db.updateTable('provisioning_tasks').set({ status: 'FAILED', error: 'Graph said no' }).where('id', '=', id).execute();
    h.testBus.bus.publishProvisioningTaskUpdated({
      v: 1,
      taskId: id,
      connectorId: f.connectorId,
      status: 'FAILED',
      at: new Date().toISOString(),
    });
    await until(() => sub.items.length === 1);
    expect(sub.items[0]!.provisioningTaskUpdated).toEqual({ id, status: 'FAILED', error: 'Graph said no' });
    sub.dispose();
  });

  it('refuses a connection without a valid token in connection_init (close 4403)', async () => {
    for (const auth of [null, 'Bearer nonsense']) {
      const c = client(auth);
      const sub = collect(c, 'subscription($c: ID!) { syncRunUpdated(connectorId: $c) { id } }', { c: f.connectorId });
      await until(() => sub.closed() !== null);
      expect((sub.closed() as { code?: number }).code).toBe(4403);
    }
  });

  it('the declared rule (any authenticated caller) admits every role; the subscribe-time check answers NOT_FOUND for a malformed id', async () => {
    for (const [role, sub] of [
      ['SUPER_ADMIN', 'root'],
      ['CONNECTOR_ADMIN', 'not-an-owner'],
      ['VIEWER', 'v2'],
    ] as const) {
      const c = client(`Bearer ${await h.token(role, sub)}`);
      const s = collect<{ syncRunUpdated: { id: string } }>(c, 'subscription($c: ID!) { syncRunUpdated(connectorId: $c) { id } }', {
        c: f.connectorId,
      });
      await new Promise((r) => setTimeout(r, 300));
      const run = await h.db
        .insertInto('sync_runs')
        .values({ connector_id: f.connectorId, mode: 'FULL', status: 'RUNNING', stats: '{}', checkpoint: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow();
      h.testBus.bus.publishSyncRunUpdated({
        v: 1,
        runId: run.id,
        connectorId: f.connectorId,
        status: 'RUNNING',
        progress: null,
        at: new Date().toISOString(),
      });
      await until(() => s.items.length >= 1);
      expect(s.items.at(-1)!.syncRunUpdated.id).toBe(run.id);
      expect(s.errors).toEqual([]);
      s.dispose();
      await h.db.updateTable('sync_runs').set({ status: 'SUCCEEDED' }).where('id', '=', run.id).execute();
    }
    const c = client(`Bearer ${await h.token('VIEWER', 'v3')}`);
    const bad = collect(c, 'subscription { provisioningTaskUpdated(id: "nope") { id } }', {});
    await until(() => bad.errors.length > 0);
    expect(JSON.stringify(bad.errors[0])).toContain('NOT_FOUND');
  });

  it('answers invalid documents with BAD_USER_INPUT errors', async () => {
    const c = client(`Bearer ${await h.token('VIEWER', 'v')}`);
    const sub = collect(c, 'subscription { syncRunUpdated(connectorId: "x") { nope } }', {});
    await until(() => sub.errors.length > 0);
    expect(JSON.stringify(sub.errors[0])).toMatch(/BAD_USER_INPUT|Cannot query field/);
  });
});
