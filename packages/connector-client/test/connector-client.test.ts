import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolesOf } from '@warden/graph-core';
import { startEmulator, type RunningEmulator } from '@warden/graph-emulator';
import { HostAllowlist, SecretBox, sealCredentials } from '@warden/service-kit';
import {
  assertConnectorUsable,
  connectorGraphClient,
  connectorGraphOptions,
  credentialsGraphClient,
  type ConnectorClientSettings,
  type ConnectorEndpoints,
  type ConnectorProblem,
} from '../src';

class Refused extends Error {
  constructor(readonly problem: ConnectorProblem) {
    super(problem.kind === 'host-refused' ? problem.refusal : problem.kind === 'missing' ? `missing ${problem.what}` : problem.kind);
  }
}

let emu: RunningEmulator;
let allowlist: HostAllowlist;
const box = SecretBox.fromConfig(`k1:${randomBytes(32).toString('base64')}`);

beforeAll(async () => {
  emu = await startEmulator({ size: 'S', seed: 5, port: 0 });
  allowlist = new HostAllowlist(`graph.microsoft.com,login.microsoftonline.com,${new URL(emu.config.baseUrl).host}`);
});
afterAll(async () => {
  await emu?.close();
});

function settings(extra: Partial<ConnectorClientSettings> = {}): ConnectorClientSettings {
  return { box, allowlist, refuse: (problem) => new Refused(problem), ...extra };
}

/** A connector row's client-relevant columns, pointed at the emulator with the `provisioning` app's secret. */
function connector(extra: Partial<ConnectorEndpoints> = {}): ConnectorEndpoints {
  const app = emu.app('provisioning');
  return {
    id: 'c-1',
    display_name: 'Contoso',
    auth_method: 'CLIENT_SECRET',
    tenant_id: emu.config.tenantId,
    client_id: app.clientId,
    graph_base_url: emu.config.baseUrl,
    authority_host: emu.config.authorityHost,
    secret_ciphertext: sealCredentials(box, 'c-1', { kind: 'secret', clientSecret: app.clientSecret }),
    consented_tenant_id: null,
    consent_verified_at: null,
    ...extra,
  };
}

function problemOf(fn: () => unknown): ConnectorProblem {
  try {
    fn();
  } catch (err) {
    if (err instanceof Refused) return err.problem;
    throw err;
  }
  throw new Error('nothing was refused');
}

describe('connector → Graph client', () => {
  it('a stored connector gets a working client with its opened credentials and the caller tuning', async () => {
    const graph = connectorGraphClient(connector(), settings(), { priority: 'High' });
    const token = await graph.getAccessToken();
    expect([...rolesOf(token)].length).toBeGreaterThan(0);
    const options = connectorGraphOptions(connector(), settings());
    expect(options).toEqual({
      tenantId: emu.config.tenantId,
      clientId: emu.app('provisioning').clientId,
      auth: { kind: 'secret', clientSecret: emu.app('provisioning').clientSecret },
      graphBaseUrl: emu.config.baseUrl,
      authorityHost: emu.config.authorityHost,
    });
  });

  it('certificate credentials become certificate auth', () => {
    const sealed = sealCredentials(box, 'c-1', { kind: 'certificate', certificatePem: 'CERT', privateKeyPem: 'KEY' });
    expect(connectorGraphOptions(connector({ secret_ciphertext: sealed }), settings()).auth).toEqual({
      kind: 'certificate',
      certificatePem: 'CERT',
      privateKeyPem: 'KEY',
    });
  });

  it('refuses a stored host that left the allowlist before any token request', () => {
    const before = emu.stats().tokensIssued;
    const narrow = new HostAllowlist('graph.microsoft.com,login.microsoftonline.com');
    const problem = problemOf(() => connectorGraphClient(connector(), settings({ allowlist: narrow })));
    expect(problem.kind).toBe('host-refused');
    expect((problem as { refusal: string }).refusal).toContain(`graphBaseUrl ${emu.config.baseUrl}`);
    expect((problem as { refusal: string }).refusal).toContain("is not in this deployment's ALLOWED_GRAPH_HOSTS");
    expect(emu.stats().tokensIssued).toBe(before);
  });

  it('an OAUTH connector needs a verified consent for its tenant, and then uses the deployment app', async () => {
    const app = emu.app('provisioning');
    const oauth = { clientId: app.clientId, clientSecret: app.clientSecret };
    const unconsented = connector({ auth_method: 'OAUTH', client_id: null, secret_ciphertext: null });
    expect(problemOf(() => assertConnectorUsable(unconsented, settings({ oauth })))).toEqual({ kind: 'no-consent' });
    const consented = { ...unconsented, consented_tenant_id: emu.config.tenantId, consent_verified_at: new Date() };
    const graph = connectorGraphClient(consented, settings({ oauth }));
    expect(await graph.getAccessToken()).toBeTruthy();
    expect(connectorGraphOptions(consented, settings({ oauth }))).toMatchObject({
      clientId: app.clientId,
      auth: { kind: 'secret', clientSecret: app.clientSecret },
    });
    // Without the deployment's app there is nothing to sign in with.
    expect(problemOf(() => connectorGraphOptions(consented, settings()))).toEqual({ kind: 'missing', what: 'client id' });
    expect(problemOf(() => connectorGraphOptions(consented, settings({ oauth: { clientId: app.clientId } })))).toEqual({
      kind: 'no-credentials',
    });
  });

  it('names what a connector is missing', () => {
    expect(problemOf(() => connectorGraphOptions(connector({ tenant_id: null }), settings()))).toEqual({
      kind: 'missing',
      what: 'tenant id',
    });
    expect(problemOf(() => connectorGraphOptions(connector({ client_id: null }), settings()))).toEqual({
      kind: 'missing',
      what: 'client id',
    });
    expect(problemOf(() => connectorGraphOptions(connector({ secret_ciphertext: null }), settings()))).toEqual({ kind: 'no-credentials' });
  });

  it('credentials given directly (the gateway probe) get the same kind of client', async () => {
    const app = emu.app('readonly');
    const graph = credentialsGraphClient({
      tenantId: emu.config.tenantId,
      clientId: app.clientId,
      graphBaseUrl: emu.config.baseUrl,
      authorityHost: emu.config.authorityHost,
      credentials: { kind: 'secret', clientSecret: app.clientSecret },
    });
    expect([...rolesOf(await graph.getAccessToken())].sort()).toEqual([...app.roles].sort());
  });
});
