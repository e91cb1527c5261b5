import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

// Access requests through the gateway: who sees which request, the live subscription, policies.
// (The whole workflow with workers and the emulator is tests/e2e/test/access-requests.test.ts.)

let h: Harness;
let f: Fixture;
const TENANT = '11111111-1111-4111-8111-111111111111';
const clients: Client[] = [];

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db, { owners: ['owner-alice'] });
  // users[1] reports to users[0]: a member request of users[1] is decided by users[0].
  await h.db
    .updateTable('resources')
    .set({ profile: JSON.stringify({ managerId: f.users[0]!.externalId }) })
    .where('id', '=', f.users[1]!.id)
    .execute();
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await h?.close();
});

const as = (i: number) => h.token('MEMBER', `sub-${i}`, { tid: TENANT, oid: f.users[i]!.externalId });

describe('access requests in the gateway', () => {
  it('lists the default policy first, then the entitlements own', async () => {
    const admin = await h.token('SUPER_ADMIN', 'root');
    const set = await h.gql<{ setAccessPolicy: { id: string; entitlement: { id: string } | null } }>(
      admin,
      `mutation($i: AccessPolicyInput!) { setAccessPolicy(input: $i) { id entitlement { id } } }`,
      {
        i: {
          connectorId: f.connectorId,
          entitlementId: f.m365Group.memberEntitlementId,
          requestable: true,
          steps: [{ kind: 'MANAGER', subjects: ['fb'] }],
        },
      },
    );
    expect(set.errors).toBeUndefined();
    const list = await h.gql<{
      accessPolicies: Array<{
        requestable: boolean;
        entitlement: { id: string } | null;
        steps: Array<{ kind: string; subjects: string[] }>;
      }>;
    }>(admin, `query($c: ID!) { accessPolicies(connectorId: $c) { requestable entitlement { id } steps { kind subjects } } }`, {
      c: f.connectorId,
    });
    expect(list.data?.accessPolicies).toEqual([
      { requestable: false, entitlement: null, steps: [] },
      { requestable: true, entitlement: { id: f.m365Group.memberEntitlementId }, steps: [{ kind: 'MANAGER', subjects: ['fb'] }] },
    ]);
    const bad = await h.gql(admin, `mutation($i: AccessPolicyInput!) { setAccessPolicy(input: $i) { id } }`, {
      i: { connectorId: f.connectorId, entitlementId: f.dynamicGroup.memberEntitlementId, requestable: true, steps: [] },
    });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a member sees its own requests and those it decides; the requester follows its request live', async () => {
    const requester = await as(1);
    const manager = await as(0);
    const stranger = await as(2);
    const created = await h.gql<{
      requestAccess: { id: string; status: string; approvers: Array<{ user: { id: string } | null; displayName: string }> };
    }>(requester, `mutation($i: AccessRequestInput!) { requestAccess(input: $i) { id status approvers { user { id } displayName } } }`, {
      i: { entitlementId: f.m365Group.memberEntitlementId, justification: 'project', durationSeconds: 600 },
    });
    expect(created.errors).toBeUndefined();
    const id = created.data!.requestAccess.id;
    expect(created.data!.requestAccess.approvers).toEqual([{ user: { id: f.users[0]!.id }, displayName: f.users[0]!.name }]);

    const ids = async (token: string, args = '') =>
      (
        await h.gql<{ accessRequests: { edges: Array<{ node: { id: string } }> } }>(
          token,
          `{ accessRequests${args} { edges { node { id } } } }`,
        )
      ).data!.accessRequests.edges.map((e) => e.node.id);
    expect(await ids(requester, '(mine: true)')).toEqual([id]);
    expect(await ids(requester, '(awaitingMyDecision: true)')).toEqual([]);
    expect(await ids(manager, '(awaitingMyDecision: true)')).toEqual([id]);
    expect(await ids(manager, '(mine: true)')).toEqual([]);
    expect(await ids(stranger)).toEqual([]);
    expect(await ids(await h.token('VIEWER', 'vera'))).toContain(id);
    const peek = await h.gql(stranger, `query($id: ID!) { accessRequest(id: $id) { id } }`, { id });
    expect(peek.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // A member cannot walk from a request into the inventory.
    const walk = await h.gql(
      requester,
      `query($id: ID!) { accessRequest(id: $id) { entitlement { resource { grants { totalCount } } } } }`,
      { id },
    );
    expect(walk.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const c = createClient({
      url: h.gateway.url.replace('http:', 'ws:'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${requester}` },
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(c);
    const seen: string[] = [];
    c.subscribe<{ accessRequestUpdated: { status: string } }>(
      { query: `subscription($id: ID!) { accessRequestUpdated(id: $id) { id status } }`, variables: { id } },
      { next: (v) => v.data && seen.push(v.data.accessRequestUpdated.status), error: () => undefined, complete: () => undefined },
    );
    const strangerClient = createClient({
      url: h.gateway.url.replace('http:', 'ws:'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${stranger}` },
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(strangerClient);
    const refused: unknown[] = [];
    strangerClient.subscribe(
      { query: `subscription($id: ID!) { accessRequestUpdated(id: $id) { id } }`, variables: { id } },
      { next: (v) => v.errors && refused.push(v.errors), error: (e) => refused.push(e), complete: () => undefined },
    );
    // The subscription is live once the server subscribed to NATS; deny-and-retry is not possible, so wait for it.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && refused.length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(JSON.stringify(refused)).toContain('FORBIDDEN');
    await new Promise((r) => setTimeout(r, 300));
    const approved = await h.gql<{ approveAccessRequest: { status: string } }>(
      manager,
      `mutation($id: ID!) { approveAccessRequest(id: $id) { status } }`,
      { id },
    );
    expect(approved.errors).toBeUndefined();
    const until = Date.now() + 5_000;
    while (Date.now() < until && !seen.includes('APPROVED')) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toContain('APPROVED');
    const decisions = await h.gql<{
      accessRequest: { decisions: Array<{ actor: string; approved: boolean }>; provisioningTask: { status: string } | null };
    }>(requester, `query($id: ID!) { accessRequest(id: $id) { decisions { actor approved } provisioningTask { status } } }`, { id });
    expect(decisions.data?.accessRequest).toEqual({
      decisions: [{ actor: 'sub-0', approved: true }],
      provisioningTask: { status: 'PENDING' },
    });
  });
});
