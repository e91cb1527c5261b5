import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startSystem, type System } from './system';

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => sys?.stop());

interface RunView {
  id: string;
  status: string;
  progress: string | null;
  error: string | null;
  stats: { users: number; groups: number; grants: number; graphRequests: number };
}

describe('end to end through gateway, NATS, workers, Postgres and the emulator', () => {
  let connectorId: string;

  it('creates a connector, syncs the tenant fully, and serves it', async () => {
    const app = sys.emulator.app('provisioning');
    const created = await sys.gql<{ createConnector: { id: string; status: string; missingPermissions: string[]; owners: string[] } }>(
      `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id status missingPermissions owners } }`,
      {
        input: {
          displayName: 'E2E tenant',
          authMethod: 'CLIENT_SECRET',
          tenantId: sys.emulator.config.tenantId,
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          graphBaseUrl: sys.emulator.config.baseUrl,
          authorityHost: sys.emulator.config.authorityHost,
        },
      },
    );
    connectorId = created.createConnector.id;
    expect(created.createConnector.missingPermissions).toEqual([]);
    expect(created.createConnector.owners).toEqual(['e2e-admin']);

    const queued = await sys.gql<{ triggerSync: RunView }>(
      `mutation($id: ID!) { triggerSync(connectorId: $id, mode: FULL) { id status progress error stats { users groups grants graphRequests } } }`,
      { id: connectorId },
    );
    expect(['QUEUED', 'RUNNING']).toContain(queued.triggerSync.status);

    const run = await eventually(
      async () => {
        const r = await sys.gql<{ syncRun: RunView }>(
          `query($id: ID!) { syncRun(id: $id) { id status progress error stats { users groups grants graphRequests } } }`,
          { id: queued.triggerSync.id },
        );
        return r.syncRun.status === 'SUCCEEDED' || r.syncRun.status === 'FAILED' ? r.syncRun : undefined;
      },
      90_000,
      'the full sync to finish',
    );
    expect(run.error).toBeNull();
    expect(run.status).toBe('SUCCEEDED');

    const truth = sys.emulator.exportTenant();
    const users = await sys.gql<{ resources: { totalCount: number } }>(
      `query($c: ID!) { resources(connectorId: $c, type: USER) { totalCount } }`,
      { c: connectorId },
    );
    expect(users.resources.totalCount).toBe(truth.users.length);
    expect(run.stats.users).toBe(truth.users.length);
    expect(run.stats.graphRequests).toBeGreaterThan(0);

    const connector = await sys.gql<{ connector: { status: string; lastSyncRun: { id: string } } }>(
      `query($c: ID!) { connector(id: $c) { status lastSyncRun { id } } }`,
      { c: connectorId },
    );
    expect(connector.connector.status).toBe('CONNECTED');
    expect(connector.connector.lastSyncRun.id).toBe(queued.triggerSync.id);
  });

  it('grants a group membership through the gateway, and the tenant and our data both show it', async () => {
    const truth = sys.emulator.exportTenant();
    const group = truth.groups.find(
      (g) =>
        g.onPremisesSyncEnabled !== true &&
        !(g.groupTypes as string[] | undefined)?.includes('DynamicMembership') &&
        g.mailEnabled !== true,
    )!;
    const user = truth.users.find((u) => !group.members.includes(String(u.id)))!;
    const ids = await sys.gql<{
      groups: { edges: Array<{ node: { id: string; externalId: string; entitlements: Array<{ id: string; slug: string }> } }> };
      users: { edges: Array<{ node: { id: string; externalId: string } }> };
    }>(
      `query($c: ID!, $g: String!, $u: String!) {
         groups: resources(connectorId: $c, type: GROUP, search: $g, first: 50) { edges { node { id externalId entitlements { id slug } } } }
         users: resources(connectorId: $c, type: USER, search: $u, first: 50) { edges { node { id externalId } } } }`,
      { c: connectorId, g: String(group.displayName), u: String(user.userPrincipalName) },
    );
    const groupNode = ids.groups.edges.map((e) => e.node).find((n) => n.externalId === String(group.id))!;
    const userNode = ids.users.edges.map((e) => e.node).find((n) => n.externalId === String(user.id))!;
    const member = groupNode.entitlements.find((e) => e.slug === 'member')!;

    const task = await sys.gql<{ grant: { id: string; status: string } }>(`mutation($i: GrantInput!) { grant(input: $i) { id status } }`, {
      i: { entitlementId: member.id, principalId: userNode.id, reason: 'e2e', idempotencyKey: 'e2e-grant-1' },
    });
    expect(task.grant.status).toBe('PENDING');
    const done = await eventually(
      async () => {
        const t = await sys.gql<{ provisioningTask: { status: string; error: string | null } }>(
          `query($id: ID!) { provisioningTask(id: $id) { status error } }`,
          { id: task.grant.id },
        );
        return ['SUCCEEDED', 'FAILED'].includes(t.provisioningTask.status) ? t.provisioningTask : undefined;
      },
      30_000,
      'the grant task',
    );
    expect(done).toEqual({ status: 'SUCCEEDED', error: null });

    const after = sys.emulator.exportTenant().groups.find((g) => g.id === group.id)!;
    expect(after.members).toContain(String(user.id));
    const grants = await sys.gql<{ grants: { edges: Array<{ node: { principal: { id: string }; direct: boolean } }> } }>(
      `query($c: ID!, $e: ID!, $p: ID!) { grants(connectorId: $c, entitlementId: $e, principalId: $p) { edges { node { principal { id } direct } } } }`,
      { c: connectorId, e: member.id, p: userNode.id },
    );
    expect(grants.grants.edges.map((e) => e.node)).toEqual([{ principal: { id: userNode.id }, direct: true }]);

    // The same idempotency key returns the same task and changes nothing.
    const again = await sys.gql<{ grant: { id: string } }>(`mutation($i: GrantInput!) { grant(input: $i) { id } }`, {
      i: { entitlementId: member.id, principalId: userNode.id, idempotencyKey: 'e2e-grant-1' },
    });
    expect(again.grant.id).toBe(task.grant.id);

    const audit = await sys.gql<{ auditEvents: { edges: Array<{ node: { action: string; actor: string } }> } }>(
      `query($c: ID!) { auditEvents(connectorId: $c, first: 100) { edges { node { action actor } } } }`,
      { c: connectorId },
    );
    const actions = audit.auditEvents.edges.map((e) => e.node.action);
    expect(actions).toEqual(expect.arrayContaining(['connector.created', 'grant.requested', 'grant.succeeded']));
  });
});
