import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorApp, type RunningEmulator } from '@warden/graph-emulator';
import { startHarness, type Harness } from './support/harness';
import { consentCookieName } from '../src/modules/connectors/connector.service';

/**
 * Attacks on OAUTH (admin-consent) connectors through the public surface: GraphQL over HTTP, the
 * `/oauth/start` and `/oauth/callback` routes, and the emulator's admin-consent and token endpoints.
 */
let emu: RunningEmulator;
let h: Harness;
let root: string;
let ownerToken: string;
let prov: EmulatorApp;
const logLines: string[] = [];

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id status tenantId } }`;
const UPDATE = 'mutation($id: ID!, $input: UpdateConnectorInput!) { updateConnector(id: $id, input: $input) { id tenantId status } }';
const BEGIN = `mutation($id: ID!, $shared: Boolean) { beginAdminConsent(connectorId: $id, allowSharedTenant: $shared) { authorizationUrl state startUrl } }`;
const CONNECTOR = 'query($id: ID!) { connector(id: $id) { status tenantId statusMessage grantedPermissions } }';
const TRIGGER = 'mutation($id: ID!) { triggerSync(connectorId: $id, mode: FULL) { id status } }';

interface Begun {
  authorizationUrl: string;
  state: string;
  startUrl: string;
}
type ConnectorView = { status: string; tenantId: string | null; statusMessage: string | null; grantedPermissions: string[] };

beforeAll(async () => {
  emu = await startEmulator({ size: 'S', seed: 11 });
  prov = emu.app('provisioning');
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
  root = await h.token('SUPER_ADMIN', 'root');
  ownerToken = await h.token('CONNECTOR_ADMIN', 'olivia');
});
afterAll(async () => {
  await h?.close();
  await emu?.close();
});

async function createOauth(token = root, name = 'OAuth'): Promise<string> {
  const r = await h.gql<{ createConnector: { id: string; status: string } }>(token, CREATE, {
    input: { displayName: name, authMethod: 'OAUTH', graphBaseUrl: emu.config.baseUrl, authorityHost: emu.config.authorityHost },
  });
  expect(r.errors).toBeUndefined();
  expect(r.data!.createConnector.status).toBe('NOT_CONNECTED');
  return r.data!.createConnector.id;
}

async function begin(id: string, token = root, shared?: boolean): Promise<Begun> {
  const r = await h.gql<{ beginAdminConsent: Begun }>(token, BEGIN, { id, ...(shared !== undefined ? { shared } : {}) });
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!.beginAdminConsent;
}

/** A URL under PUBLIC_URL, addressed to the test gateway. */
const onGateway = (publicUrl: string) => {
  const u = new URL(publicUrl);
  return new URL(`${u.pathname}${u.search}`, h.gateway.url);
};

/** The admin's browser opens startUrl: the gateway sets the verifier cookie and redirects to Entra. */
async function openStart(b: Begun): Promise<{ cookie: string; setCookie: string; location: string }> {
  const r = await fetch(onGateway(b.startUrl), { redirect: 'manual' });
  expect(r.status, await r.clone().text()).toBe(302);
  const setCookie = r.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, setCookie, location: r.headers.get('location')! };
}

/** The admin consents at the emulator, which redirects the browser back to the callback. */
async function consentAt(entraUrl: string): Promise<URL> {
  const r = await fetch(entraUrl, { redirect: 'manual' });
  expect(r.status).toBe(302);
  const back = new URL(r.headers.get('location')!);
  expect(back.pathname).toBe('/oauth/callback');
  return new URL(`/oauth/callback${back.search}`, h.gateway.url);
}

const callback = (params: Record<string, string>) => new URL(`/oauth/callback?${new URLSearchParams(params).toString()}`, h.gateway.url);
const get = (url: URL, cookie?: string) => fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });

async function connector(id: string): Promise<ConnectorView> {
  const r = await h.gql<{ connector: ConnectorView }>(root, CONNECTOR, { id });
  return r.data!.connector;
}
async function consentColumns(id: string) {
  return h.db
    .selectFrom('connectors')
    .select(['tenant_id', 'consented_tenant_id', 'consent_verified_at', 'status'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}
async function audit(id: string) {
  return h.db.selectFrom('audit_events').select(['actor', 'action', 'details']).where('connector_id', '=', id).orderBy('id').execute();
}
async function runsOf(id: string): Promise<number> {
  const r = await h.db
    .selectFrom('sync_runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('connector_id', '=', id)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

let boundConnector: string;

describe('OAUTH connectors: the tenant comes only from a verified consent', () => {
  it('refuses tenantId on create and on update of an OAUTH connector (BAD_USER_INPUT), and nothing changes', async () => {
    const before = await h.db
      .selectFrom('connectors')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const created = await h.gql(root, CREATE, {
      input: {
        displayName: 'Pointed elsewhere',
        authMethod: 'OAUTH',
        tenantId: emu.config.tenantId,
        graphBaseUrl: emu.config.baseUrl,
        authorityHost: emu.config.authorityHost,
      },
    });
    expect(created.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(created.errors?.[0]?.message).toMatch(/tenantId/);
    const after = await h.db
      .selectFrom('connectors')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));

    const id = await createOauth();
    const updated = await h.gql(root, UPDATE, { id, input: { tenantId: emu.config.tenantId } });
    expect(updated.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await consentColumns(id)).toMatchObject({
      tenant_id: null,
      consented_tenant_id: null,
      consent_verified_at: null,
      status: 'NOT_CONNECTED',
    });
    expect((await connector(id)).status).toBe('NOT_CONNECTED');
    // Without a consent the connector can be neither synced nor pointed anywhere.
    const sync = await h.gql(root, TRIGGER, { id });
    expect(sync.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await runsOf(id)).toBe(0);
  });

  it("legitimate flow: begin → /oauth/start (cookie) → identity platform → callback → CONNECTED with the token's tenant → sync queued", async () => {
    const id = await createOauth();
    const b = await begin(id);
    expect(new URL(b.startUrl).origin).toBe('https://warden.example');
    expect(new URL(b.startUrl).pathname).toBe('/oauth/start');
    expect(new URL(b.authorizationUrl).searchParams.get('state')).toBe(b.state);
    // Consent is asked for the Graph this connector calls, not always the public cloud's.
    expect(new URL(b.authorizationUrl).searchParams.get('scope')).toBe(`${new URL(emu.config.baseUrl).origin}/.default`);

    const start = await openStart(b);
    expect(start.location).toBe(b.authorizationUrl);
    const name = consentCookieName(b.state);
    expect(start.setCookie).toMatch(new RegExp(`^${name}=[A-Za-z0-9_-]{43};`));
    expect(start.setCookie).toMatch(/; HttpOnly/i);
    expect(start.setCookie).toMatch(/; SameSite=Lax/i);
    expect(start.setCookie).toMatch(/; Secure/i); // PUBLIC_URL is https
    expect(start.setCookie).toMatch(/; Path=\/oauth/i);
    const stored = await h.db.selectFrom('admin_consent_states').selectAll().where('state', '=', b.state).executeTakeFirstOrThrow();
    expect(stored.verifier_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.verifier_hash).not.toContain(start.cookie.split('=')[1]);

    const back = await consentAt(start.location);
    const done = await get(back, start.cookie);
    expect(done.status, await done.clone().text()).toBe(200);
    expect(done.headers.get('set-cookie')).toMatch(new RegExp(`^${name}=;`)); // verifier cleared
    expect(await connector(id)).toMatchObject({ status: 'CONNECTED', tenantId: emu.config.tenantId });
    const cols = await consentColumns(id);
    expect(cols.consented_tenant_id).toBe(emu.config.tenantId);
    expect(cols.consent_verified_at).toBeInstanceOf(Date);
    expect((await audit(id)).map((a) => `${a.actor}:${a.action}`)).toEqual([
      'root:connector.created',
      'root:connector.consent_started',
      'root:connector.consented',
    ]);

    const sync = await h.gql<{ triggerSync: { id: string; status: string } }>(root, TRIGGER, { id });
    expect(sync.errors).toBeUndefined();
    expect(sync.data!.triggerSync.status).toBe('QUEUED');

    // The tenant cannot be changed afterwards.
    const moved = await h.gql(root, UPDATE, { id, input: { tenantId: randomUUID() } });
    expect(moved.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await consentColumns(id)).tenant_id).toBe(emu.config.tenantId);
    boundConnector = id;
  });

  it('replaying a completed callback (same URL, same cookie) is refused', async () => {
    const id = await createOauth(root, 'Replay');
    // Another tenant-free connector: allow sharing so the first consent succeeds, then replay it.
    const b = await begin(id, root, true);
    const start = await openStart(b);
    const back = await consentAt(start.location);
    expect((await get(back, start.cookie)).status).toBe(200);
    const replay = await get(back, start.cookie);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toMatch(/already used/);
    // Opening the start link again (another browser, or the same one) is refused too.
    expect((await fetch(onGateway(b.startUrl), { redirect: 'manual' })).status).toBe(400);
    expect((await audit(id)).filter((a) => a.action === 'connector.consented')).toHaveLength(1);
  });

  it('forged tenant / admin_consent parameters for a tenant no token confirms are refused; the connector stays NOT_CONNECTED', async () => {
    const id = await createOauth(root, 'Forged');
    const forgedTenants = [randomUUID(), 'contoso.onmicrosoft.com', ''];
    for (const tenant of forgedTenants) {
      const b = await begin(id);
      const start = await openStart(b);
      // The browser skips the identity platform and comes back with made-up parameters.
      const r = await get(callback({ tenant, admin_consent: 'True', state: b.state }), start.cookie);
      expect(r.status, `${tenant}: ${await r.clone().text()}`).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(600);
      expect(await connector(id), tenant).toMatchObject({ status: 'NOT_CONNECTED', tenantId: null, grantedPermissions: [] });
      expect(await consentColumns(id)).toMatchObject({ tenant_id: null, consented_tenant_id: null, consent_verified_at: null });
    }
    const failures = (await audit(id)).filter((a) => a.action === 'connector.consent_failed');
    expect(failures.map((f) => (f.details as { reason: string }).reason)).toEqual(['no_token', 'tenant_not_guid', 'identity_platform']);
    expect((await h.gql(root, TRIGGER, { id })).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await runsOf(id)).toBe(0);
  });

  it("a callback without the browser-binding cookie, or with another browser's, is refused and does not spend the state", async () => {
    const id = await createOauth(root, 'Bound');
    // Today's flow: the link from beginAdminConsent opened directly, never through /oauth/start.
    const direct = await begin(id);
    const noStart = await get(await consentAt(direct.authorizationUrl));
    expect(noStart.status).toBe(400);
    expect(await noStart.text()).toMatch(/start link/);
    expect((await consentColumns(id)).consent_verified_at).toBeNull();

    const b = await begin(id, root, true);
    const start = await openStart(b);
    const back = await consentAt(start.location);
    const name = consentCookieName(b.state);
    // No cookie, a made-up verifier, and the verifier of another consent (another browser's cookie).
    const other = await openStart(await begin(id));
    const otherValue = other.cookie.split('=')[1]!;
    for (const cookie of [undefined, `${name}=${randomBytes(32).toString('base64url')}`, other.cookie, `${name}=${otherValue}`]) {
      const r = await get(back, cookie);
      expect(r.status, String(cookie)).toBe(400);
      expect(await connector(id)).toMatchObject({ status: 'NOT_CONNECTED', tenantId: null });
    }
    // An attacker holding the state cannot bind it to their own browser either: it is already opened.
    expect((await fetch(onGateway(b.startUrl), { redirect: 'manual' })).status).toBe(400);
    const refused = (await audit(id)).filter((a) => a.action === 'connector.consent_refused');
    expect(refused.length).toBeGreaterThanOrEqual(4);
    // The right browser still completes it (SUPER_ADMIN allowed the shared tenant for this one).
    expect((await get(back, start.cookie)).status).toBe(200);
    expect((await connector(id)).status).toBe('CONNECTED');
  });

  it('a second connector consenting to an already-bound tenant gets CONFLICT unless a SUPER_ADMIN allowed it', async () => {
    expect(boundConnector).toBeDefined();
    const id = await createOauth(ownerToken, 'Second');
    const b = await begin(id, ownerToken);
    const start = await openStart(b);
    const r = await get(await consentAt(start.location), start.cookie);
    expect(r.status).toBe(409);
    expect(await r.text()).toMatch(/already bound/);
    expect(await connector(id)).toMatchObject({ status: 'NOT_CONNECTED', tenantId: null });
    expect((await audit(id)).at(-1)).toMatchObject({
      actor: 'olivia',
      action: 'connector.consent_failed',
      details: { reason: 'tenant_bound', boundTo: expect.any(String) },
    });
    expect((await h.gql(ownerToken, TRIGGER, { id })).errors?.[0]?.extensions?.code).toBe('CONFLICT');

    // The override is for SUPER_ADMINs only.
    const notAllowed = await h.gql(ownerToken, BEGIN, { id, shared: true });
    expect(notAllowed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const allowed = await begin(id, root, true);
    const s2 = await openStart(allowed);
    const ok = await get(await consentAt(s2.location), s2.cookie);
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(await connector(id)).toMatchObject({ status: 'CONNECTED', tenantId: emu.config.tenantId });
    expect((await audit(id)).at(-1)).toMatchObject({
      actor: 'root',
      action: 'connector.consented',
      details: { tenantId: emu.config.tenantId, sharedWith: expect.any(String) },
    });
  });

  it('a connector pointed at a tenant before consents were verified cannot be moved to another tenant by consenting there', async () => {
    // What the pre-fix gateway let any connector admin write: an OAUTH connector naming someone's tenant.
    const victim = randomUUID();
    const row = await h.db
      .insertInto('connectors')
      .values({
        display_name: 'Legacy',
        auth_method: 'OAUTH',
        tenant_id: victim,
        client_id: prov.clientId,
        owners: ['root'],
        graph_base_url: emu.config.baseUrl,
        authority_host: emu.config.authorityHost,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect((await h.gql(root, TRIGGER, { id: row.id })).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const b = await begin(row.id, root, true);
    const start = await openStart(b);
    // The admin consents in the (emulator's) tenant they administer.
    const entra = new URL(start.location);
    expect(entra.pathname).toBe(`/${victim}/v2.0/adminconsent`);
    entra.pathname = '/organizations/v2.0/adminconsent';
    const r = await get(await consentAt(entra.toString()), start.cookie);
    expect(r.status).toBe(409);
    expect(await consentColumns(row.id)).toMatchObject({ tenant_id: victim, consented_tenant_id: null, consent_verified_at: null });
    expect((await audit(row.id)).at(-1)).toMatchObject({ action: 'connector.consent_failed', details: { reason: 'tenant_change' } });
    expect((await h.gql(root, TRIGGER, { id: row.id })).errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('error_description with markup and newlines is stored as capped data, never as log text or unescaped markup', async () => {
    const id = await createOauth(root, 'Declined');
    const b = await begin(id);
    const start = await openStart(b);
    const evil = `<script>alert("pwned")</script>\r\nINJECTED-LINE level=ERROR\u202e${'x'.repeat(2000)}`;
    const r = await get(callback({ error: 'access_denied\n<b>', error_description: evil, state: b.state }), start.cookie);
    expect(r.status).toBe(400);
    const html = await r.text();
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&#60;script&#62;');
    expect(html).not.toMatch(/[\r\n]INJECTED/);
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');

    const failed = (await audit(id)).at(-1)!;
    expect(failed.action).toBe('connector.consent_failed');
    const details = failed.details as { reason: string; error: string; description: string };
    expect(details.reason).toBe('identity_platform');
    expect(details.error).toBe('access_denied <b>');
    expect(details.description.startsWith('<script>alert("pwned")</script> INJECTED-LINE level=ERROR x')).toBe(true);
    expect(details.description.length).toBeLessThanOrEqual(500);
    expect(details.description).not.toMatch(/[\p{Cc}\u202e]/u);

    const logs = await h.db.selectFrom('connector_logs').select(['message']).where('connector_id', '=', id).execute();
    expect(logs.map((l) => l.message).join('\n')).not.toMatch(/script|INJECTED|access_denied/);
    expect(logLines.join('')).not.toMatch(/INJECTED|pwned/);
    expect(await connector(id)).toMatchObject({ status: 'NOT_CONNECTED', tenantId: null });
  });
});
