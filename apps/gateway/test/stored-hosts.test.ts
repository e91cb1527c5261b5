import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '@warden/graph-emulator';
import { startHarness, type Harness } from './support/harness';

// A connector saved while the emulator's host was allowed; the deployment has since removed it from
// ALLOWED_GRAPH_HOSTS (this gateway runs with the default list). Re-checking the credentials must not
// send them to the stored host.
let emu: RunningEmulator;
let h: Harness;

beforeAll(async () => {
  emu = await startEmulator({ size: 'S', seed: 5 });
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  await emu?.close();
});

describe('stored connector hosts in the gateway', () => {
  it('an update that re-checks credentials does not contact a stored host that is no longer allowed, and says why', async () => {
    const app = emu.app('provisioning');
    const c = await h.db
      .insertInto('connectors')
      .values({
        display_name: 'Saved earlier',
        auth_method: 'CLIENT_SECRET',
        tenant_id: emu.config.tenantId,
        client_id: app.clientId,
        graph_base_url: emu.config.baseUrl,
        authority_host: emu.config.authorityHost,
        owners: ['root'],
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    emu.resetStats();
    const admin = await h.token('SUPER_ADMIN', 'root');
    const r = await h.gql<{ updateConnector: { status: string; statusMessage: string | null } }>(
      admin,
      'mutation($id: ID!, $s: String!) { updateConnector(id: $id, input: { clientSecret: $s }) { status statusMessage } }',
      { id: c.id, s: app.clientSecret },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.updateConnector.status).toBe('ERROR');
    expect(r.data!.updateConnector.statusMessage).toContain(
      `host '${new URL(emu.config.baseUrl).host}' is not in this deployment's ALLOWED_GRAPH_HOSTS`,
    );
    expect(emu.stats().tokensIssued).toBe(0);
    expect(emu.stats().tokenScopes).toEqual({});
  });
});
