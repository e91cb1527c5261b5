import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorApp, type RunningEmulator } from '@warden/graph-emulator';
import { openCredentials } from '@warden/service-kit';
import { box, startHarness, type Harness } from './support/harness';

let emu: RunningEmulator;
let h: Harness;
let admin: string;
let prov: EmulatorApp;
let readonly: EmulatorApp;
const logLines: string[] = [];

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) {
  id status statusMessage missingPermissions grantedPermissions owners tenantId clientId authMethod graphBaseUrl authorityHost } }`;
type Created = {
  id: string;
  status: string;
  statusMessage: string | null;
  missingPermissions: string[];
  grantedPermissions: string[];
  owners: string[];
  tenantId: string;
};

beforeAll(async () => {
  emu = await startEmulator({ size: 'S', seed: 7 });
  prov = emu.app('provisioning');
  readonly = emu.app('readonly');
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  h = await startHarness(
    {
      ALLOWED_GRAPH_HOSTS: `graph.microsoft.com,login.microsoftonline.com,${new URL(emu.config.baseUrl).host}`,
      OAUTH_CLIENT_ID: prov.clientId,
      OAUTH_CLIENT_SECRET: prov.clientSecret,
      PUBLIC_URL: 'https://warden.example',
    },
    { logger: pino({ level: 'debug' }, sink) },
  );
  admin = await h.token('SUPER_ADMIN', 'root');
});
afterAll(async () => {
  await h?.close();
  await emu?.close();
});

/** The admin's browser opens a consent's startUrl (under PUBLIC_URL) on the test gateway: the verifier cookie and the redirect. */
async function openStart(startUrl: string): Promise<{ cookie: string; location: string }> {
  const u = new URL(startUrl);
  const r = await fetch(new URL(`${u.pathname}${u.search}`, h.gateway.url), { redirect: 'manual' });
  expect(r.status).toBe(302);
  return { cookie: (r.headers.get('set-cookie') ?? '').split(';')[0]!, location: r.headers.get('location')! };
}

const input = (extra: Record<string, unknown>) => ({
  displayName: 'Emulated',
  authMethod: 'CLIENT_SECRET',
  tenantId: emu.config.tenantId,
  graphBaseUrl: emu.config.baseUrl,
  authorityHost: emu.config.authorityHost,
  ...extra,
});

describe('connectors', () => {
  it('creates a connector whose secret works: token obtained, permissions read, status CONNECTED, secret sealed and never returned', async () => {
    const r = await h.gql<{ createConnector: Created }>(admin, CREATE, {
      input: input({ clientId: prov.clientId, clientSecret: prov.clientSecret }),
    });
    expect(r.errors).toBeUndefined();
    const c = r.data!.createConnector;
    expect(c.status).toBe('CONNECTED');
    expect(c.missingPermissions).toEqual([]);
    expect(c.grantedPermissions).toContain('GroupMember.ReadWrite.All');
    expect(c.owners).toEqual(['root']);
    expect(JSON.stringify(r)).not.toContain(prov.clientSecret);
    const row = await h.db.selectFrom('connectors').select(['secret_ciphertext']).where('id', '=', c.id).executeTakeFirstOrThrow();
    expect(row.secret_ciphertext).not.toContain(prov.clientSecret);
    expect(openCredentials(box, c.id, row.secret_ciphertext!)).toEqual({ kind: 'secret', clientSecret: prov.clientSecret });
    const audit = await h.db.selectFrom('audit_events').selectAll().where('connector_id', '=', c.id).execute();
    expect(audit.map((a) => a.action)).toEqual(['connector.created']);
    expect(JSON.stringify(audit)).not.toContain(prov.clientSecret);
  });

  it('lists what a read-only app is missing', async () => {
    const r = await h.gql<{ createConnector: Created }>(admin, CREATE, {
      input: input({ clientId: readonly.clientId, clientSecret: readonly.clientSecret }),
    });
    const c = r.data!.createConnector;
    expect(c.status).toBe('CONNECTED');
    expect(c.missingPermissions).toContain('Group.ReadWrite.All');
    expect(c.missingPermissions).not.toContain('Group.Read.All');
  });

  it("records the identity platform's message and ERROR for a wrong secret", async () => {
    const r = await h.gql<{ createConnector: Created }>(admin, CREATE, {
      input: input({ clientId: prov.clientId, clientSecret: 'wrong-secret-value' }),
    });
    const c = r.data!.createConnector;
    expect(c.status).toBe('ERROR');
    expect(c.statusMessage).toMatch(/AADSTS7000215/);
    expect(c.grantedPermissions).toEqual([]);
  });

  it('connects with a certificate (CERTIFICATE method)', async () => {
    const r = await h.gql<{ createConnector: Created }>(admin, CREATE, {
      input: input({
        authMethod: 'CERTIFICATE',
        clientId: prov.clientId,
        certificatePem: prov.certificatePem,
        privateKeyPem: prov.privateKeyPem,
      }),
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.createConnector.status).toBe('CONNECTED');
    const row = await h.db
      .selectFrom('connectors')
      .select(['secret_ciphertext'])
      .where('id', '=', r.data!.createConnector.id)
      .executeTakeFirstOrThrow();
    expect(openCredentials(box, r.data!.createConnector.id, row.secret_ciphertext!).kind).toBe('certificate');
  });

  it('refuses http, hosts outside ALLOWED_GRAPH_HOSTS, paths, bad ids and mixed credentials with BAD_USER_INPUT', async () => {
    const bad = [
      input({ graphBaseUrl: emu.config.baseUrl.replace('https:', 'http:') }),
      input({ graphBaseUrl: 'https://evil.example' }),
      input({ authorityHost: 'https://login.microsoftonline.com.evil.example' }),
      input({ graphBaseUrl: `${emu.config.baseUrl}/v1.0` }),
      input({ graphBaseUrl: 'https://localhost:1' }),
      input({ clientId: 'not-a-guid', clientSecret: 'x' }),
      input({ displayName: '   ' }),
      input({ clientId: prov.clientId, clientSecret: 'x', certificatePem: prov.certificatePem }),
      input({ authMethod: 'OAUTH', clientSecret: 'x' }),
    ];
    for (const i of bad) {
      const r = await h.gql(admin, CREATE, { input: i });
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(i)).toBe('BAD_USER_INPUT');
    }
    const count = await h.db
      .selectFrom('connectors')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('graph_base_url', 'like', 'http:%')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('re-checks credentials on update, audits without the secret', async () => {
    const created = await h.gql<{ createConnector: Created }>(admin, CREATE, {
      input: input({ clientId: prov.clientId, clientSecret: prov.clientSecret }),
    });
    const id = created.data!.createConnector.id;
    const UPDATE =
      'mutation($id: ID!, $input: UpdateConnectorInput!) { updateConnector(id: $id, input: $input) { status statusMessage displayName owners } }';
    const broken = await h.gql<{ updateConnector: { status: string; statusMessage: string } }>(admin, UPDATE, {
      id,
      input: { clientSecret: 'another-wrong-one' },
    });
    expect(broken.data!.updateConnector.status).toBe('ERROR');
    const fixed = await h.gql<{ updateConnector: { status: string; displayName: string; owners: string[] } }>(admin, UPDATE, {
      id,
      input: { clientSecret: prov.clientSecret, displayName: 'Renamed', owners: ['alice'] },
    });
    expect(fixed.data!.updateConnector).toMatchObject({ status: 'CONNECTED', displayName: 'Renamed', owners: ['alice'] });
    const audit = await h.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('connector_id', '=', id)
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['connector.created', 'connector.updated', 'connector.updated']);
    expect(JSON.stringify(audit)).not.toContain('another-wrong-one');
    expect(JSON.stringify(audit)).not.toContain(prov.clientSecret);
    const missing = await h.gql(admin, UPDATE, { id: '00000000-0000-4000-8000-000000000000', input: { displayName: 'x' } });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it("delete cancels active sync runs (with an event), removes the connector's data and keeps the audit trail", async () => {
    const created = await h.gql<{ createConnector: Created }>(admin, CREATE, {
      input: input({ clientId: prov.clientId, clientSecret: prov.clientSecret }),
    });
    const id = created.data!.createConnector.id;
    await h.db
      .insertInto('resources')
      .values({ connector_id: id, type: 'USER', external_id: 'u1', display_name: 'U', profile: '{}' })
      .execute();
    await h.db
      .insertInto('grants')
      .values({ connector_id: id, entitlement_key: 'GROUP:g:member', principal_external_id: 'u1', principal_kind: 'USER', direct: true })
      .execute();
    const run = await h.db
      .insertInto('sync_runs')
      .values({ connector_id: id, mode: 'FULL', status: 'RUNNING', stats: '{}', checkpoint: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const events: string[] = [];
    const stop = h.testBus.bus.subscribeSyncRunUpdated(id, (e) => events.push(`${e.runId}:${e.status}`));
    await new Promise((r) => setTimeout(r, 100));
    const r = await h.gql<{ deleteConnector: boolean }>(admin, 'mutation($id: ID!) { deleteConnector(id: $id) }', { id });
    expect(r.data!.deleteConnector).toBe(true);
    for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
    stop();
    expect(events).toEqual([`${run.id}:CANCELLED`]);
    for (const t of ['resources', 'grants', 'sync_runs'] as const) {
      const n = await h.db
        .selectFrom(t)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('connector_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(Number(n.n), t).toBe(0);
    }
    const audit = await h.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('connector_id', '=', id)
      .orderBy('id')
      .execute();
    expect(audit.at(-1)!.action).toBe('connector.deleted');
    expect(audit.at(-1)!.details).toMatchObject({ cancelledRuns: [run.id], removed: { resources: 1, grants: 1 } });
  });

  it('admin consent: state bound to connector and caller, single use, expires; records the tenant and checks a token', async () => {
    const created = await h.gql<{ createConnector: Created }>(admin, CREATE, {
      input: { displayName: 'OAuth', authMethod: 'OAUTH', graphBaseUrl: emu.config.baseUrl, authorityHost: emu.config.authorityHost },
    });
    const c = created.data!.createConnector;
    expect(c.status).toBe('NOT_CONNECTED');
    const begin = await h.gql<{ beginAdminConsent: { authorizationUrl: string; state: string; startUrl: string } }>(
      admin,
      'mutation($id: ID!) { beginAdminConsent(connectorId: $id) { authorizationUrl state startUrl } }',
      { id: c.id },
    );
    const { authorizationUrl, state, startUrl } = begin.data!.beginAdminConsent;
    const url = new URL(authorizationUrl);
    expect(url.searchParams.get('redirect_uri')).toBe('https://warden.example/oauth/callback');
    expect(url.searchParams.get('state')).toBe(state);
    const stored = await h.db.selectFrom('admin_consent_states').selectAll().where('state', '=', state).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ connector_id: c.id, subject: 'root', used_at: null });

    // The admin's browser opens the start link (binding the consent to it with a cookie), consents at
    // the identity platform, which redirects the browser back to us.
    const browser = await openStart(startUrl);
    expect(browser.location).toBe(authorizationUrl);
    const consent = await fetch(authorizationUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location')!);
    const callback = new URL(`/oauth/callback${back.search}`, h.gateway.url);
    const done = await fetch(callback, { headers: { cookie: browser.cookie } });
    expect(done.status, await done.clone().text()).toBe(200);
    const after = await h.gql<{ connector: { status: string; tenantId: string; missingPermissions: string[] } }>(
      admin,
      'query($id: ID!) { connector(id: $id) { status tenantId missingPermissions } }',
      { id: c.id },
    );
    expect(after.data!.connector).toMatchObject({ status: 'CONNECTED', tenantId: emu.config.tenantId, missingPermissions: [] });
    const audit = await h.db
      .selectFrom('audit_events')
      .select(['actor', 'action'])
      .where('connector_id', '=', c.id)
      .orderBy('id')
      .execute();
    expect(audit.map((a) => `${a.actor}:${a.action}`)).toEqual([
      'root:connector.created',
      'root:connector.consent_started',
      'root:connector.consented',
    ]);

    expect((await fetch(callback, { headers: { cookie: browser.cookie } })).status).toBe(400); // single use
    const begin2 = await h.gql<{ beginAdminConsent: { state: string; startUrl: string } }>(
      admin,
      'mutation($id: ID!) { beginAdminConsent(connectorId: $id) { state startUrl } }',
      { id: c.id },
    );
    const browser2 = await openStart(begin2.data!.beginAdminConsent.startUrl);
    await h.db
      .updateTable('admin_consent_states')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('state', '=', begin2.data!.beginAdminConsent.state)
      .execute();
    const expired = await fetch(
      new URL(
        `/oauth/callback?tenant=${emu.config.tenantId}&admin_consent=True&state=${begin2.data!.beginAdminConsent.state}`,
        h.gateway.url,
      ),
      { headers: { cookie: browser2.cookie } },
    );
    expect(expired.status).toBe(400);
    expect(await expired.text()).toMatch(/expired/);
    expect((await fetch(new URL('/oauth/callback?tenant=x&admin_consent=True&state=forged', h.gateway.url))).status).toBe(400);

    const notOauth = await h.gql<{ createConnector: Created }>(admin, CREATE, { input: input({}) });
    const refused = await h.gql(admin, 'mutation($id: ID!) { beginAdminConsent(connectorId: $id) { state } }', {
      id: notOauth.data!.createConnector.id,
    });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('never writes a secret or token to the logs', () => {
    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(prov.clientSecret);
    expect(all).not.toContain(readonly.clientSecret);
    expect(all).not.toContain('wrong-secret-value');
    expect(all).not.toContain('PRIVATE KEY');
  });
});
