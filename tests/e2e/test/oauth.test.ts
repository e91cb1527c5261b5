import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startSystem, type System } from './system';

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ oauth: { publicUrl: 'https://warden.example' } });
});
afterAll(async () => sys?.stop());

/** A URL under PUBLIC_URL, addressed to the gateway of this system (a proxy would do this). */
const onGateway = (publicUrl: string) => {
  const u = new URL(publicUrl);
  return new URL(`${u.pathname}${u.search}`, sys.gateway.url);
};

describe('OAuth (admin consent) connector end to end', () => {
  it("begin → /oauth/start → identity platform → callback → CONNECTED → full sync through the deployment's app", async () => {
    const created = await sys.gql<{ createConnector: { id: string; status: string; tenantId: string | null } }>(
      `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id status tenantId } }`,
      {
        input: {
          displayName: 'E2E OAuth',
          authMethod: 'OAUTH',
          graphBaseUrl: sys.emulator.config.baseUrl,
          authorityHost: sys.emulator.config.authorityHost,
        },
      },
    );
    const id = created.createConnector.id;
    expect(created.createConnector).toMatchObject({ status: 'NOT_CONNECTED', tenantId: null });

    const begun = await sys.gql<{ beginAdminConsent: { startUrl: string; authorizationUrl: string } }>(
      `mutation($id: ID!) { beginAdminConsent(connectorId: $id) { startUrl authorizationUrl } }`,
      { id },
    );
    // The admin's browser: start link (verifier cookie) → identity platform → back to the callback.
    const start = await fetch(onGateway(begun.beginAdminConsent.startUrl), { redirect: 'manual' });
    expect(start.status).toBe(302);
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0]!;
    const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location')!);
    const done = await fetch(new URL(`/oauth/callback${back.search}`, sys.gateway.url), { headers: { cookie } });
    expect(done.status, await done.clone().text()).toBe(200);

    const connected = await sys.gql<{ connector: { status: string; tenantId: string; missingPermissions: string[] } }>(
      `query($id: ID!) { connector(id: $id) { status tenantId missingPermissions } }`,
      { id },
    );
    expect(connected.connector).toMatchObject({ status: 'CONNECTED', tenantId: sys.emulator.config.tenantId, missingPermissions: [] });

    const queued = await sys.gql<{ triggerSync: { id: string } }>(
      `mutation($id: ID!) { triggerSync(connectorId: $id, mode: FULL) { id } }`,
      { id },
    );
    const run = await eventually(
      async () => {
        const r = await sys.gql<{ syncRun: { status: string; error: string | null; stats: { users: number } } }>(
          `query($id: ID!) { syncRun(id: $id) { status error stats { users } } }`,
          { id: queued.triggerSync.id },
        );
        return r.syncRun.status === 'SUCCEEDED' || r.syncRun.status === 'FAILED' ? r.syncRun : undefined;
      },
      90_000,
      'the full sync to finish',
    );
    expect(run.error).toBeNull();
    expect(run.status).toBe('SUCCEEDED');
    expect(run.stats.users).toBe(sys.emulator.exportTenant().users.length);
  });
});
