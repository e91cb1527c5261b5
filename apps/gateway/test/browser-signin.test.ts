import { createServer } from 'node:net';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '@warden/graph-emulator';
import pino from 'pino';
import { BrowserAuth, safeReturnTo } from '../src/auth/browser';
import { OidcVerifier } from '../src/auth/oidc';
import { parseEnvironment } from '../src/environment';
import { startGateway } from '../src/server';
import { box, JWT_SECRET, SECRET_KEYS, startHarness, type Harness } from './support/harness';

/**
 * Browser sign-in through the gateway (auth/browser.ts), end to end: the real gateway, the Graph
 * emulator as the OpenID Connect provider (authorization code + PKCE), redirects followed by hand.
 */
let emu: RunningEmulator;
let h: Harness;
let port: number;
/** Where the test reaches the gateway; PUBLIC_URL is http://localhost:<port> (the emulator's registered loopback redirect URI). */
let base: string;
let publicOrigin: string;
let admin: string;
let plainUser: string;

const ME = '{ me { subject roles displayName identities { id } } }';
type MeAnswer = { me: { subject: string; roles: string[]; displayName: string | null; identities: { id: string }[] } };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function setCookie(res: Response, name: string): { value: string; raw: string } | undefined {
  for (const raw of res.headers.getSetCookie()) {
    const [pair] = raw.split(';');
    const i = pair!.indexOf('=');
    if (pair!.slice(0, i) === name) return { value: decodeURIComponent(pair!.slice(i + 1)), raw };
  }
  return undefined;
}

interface SignIn {
  /** The callback's answer. */
  callback: Response;
  /** The callback URL the provider redirected to, and the login cookie, for replays. */
  callbackUrl: string;
  loginCookie: string;
  session?: string;
}

async function signIn(query: string): Promise<SignIn> {
  const start = await fetch(`${base}/auth/login?${query}`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const login = setCookie(start, 'warden_login');
  expect(login?.raw).toMatch(/HttpOnly/i);
  expect(login?.raw).toMatch(/SameSite=Lax/i);
  const authorize = new URL(start.headers.get('location')!);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('redirect_uri')).toBe(`${publicOrigin}/auth/callback`);
  const idp = await fetch(authorize, { redirect: 'manual' });
  expect(idp.status).toBe(302);
  const back = new URL(idp.headers.get('location')!);
  expect(back.origin).toBe(publicOrigin);
  const callbackUrl = `${base}${back.pathname}${back.search}`;
  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: `warden_login=${login!.value}` } });
  const session = setCookie(callback, 'warden_session');
  return { callback, callbackUrl, loginCookie: login!.value, ...(session?.value ? { session: session.value } : {}) };
}

async function cookieGql<T = Record<string, unknown>>(
  session: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] }> {
  await h.gateway.caughtUp();
  const r = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: publicOrigin, cookie: `warden_session=${session}`, ...headers },
    body: JSON.stringify({ query }),
  });
  const text = await r.text();
  return { status: r.status, ...(JSON.parse(text) as object) };
}

async function graphToken(): Promise<string> {
  const a = emu.app('readonly');
  const res = await fetch(`${emu.config.authorityHost}/${emu.config.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: a.clientId,
      client_secret: a.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  emu = await startEmulator({ size: 'S', seed: 21 });
  const warden = emu.app('warden');
  admin = warden.api!.roleHolders['Warden.SuperAdmin']![0]!;
  // A plain member: an enabled member user holding no Warden role, directly or through a group.
  const holders = new Set(
    [...Object.values(warden.api!.roleHolders).flat(), ...warden.api!.viaGroup.flatMap((g) => g.memberUpns)].map((u) => u.toLowerCase()),
  );
  const users = (await (
    await fetch(`${emu.config.baseUrl}/v1.0/users?$select=userPrincipalName,accountEnabled,userType&$top=100`, {
      headers: { authorization: `Bearer ${await graphToken()}` },
    })
  ).json()) as { value: { userPrincipalName: string; accountEnabled: boolean; userType: string }[] };
  plainUser = users.value.find(
    (u) => u.accountEnabled && u.userType === 'Member' && !holders.has(u.userPrincipalName.toLowerCase()),
  )!.userPrincipalName;
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  publicOrigin = `http://localhost:${port}`;
  h = await startHarness({
    PORT: String(port),
    OIDC_ISSUER: `${emu.config.baseUrl}/${emu.config.tenantId}/v2.0`,
    OIDC_CLIENT_ID: warden.clientId,
    OIDC_CLIENT_SECRET: warden.clientSecret,
    OIDC_JWKS_COOLDOWN_SECONDS: '1',
    PUBLIC_URL: publicOrigin,
  });
});
afterAll(async () => {
  await h?.close();
  await emu?.close();
});

describe('browser sign-in (authorization code + PKCE with the emulator)', () => {
  it('signs a SUPER_ADMIN in with prompt=none + login_hint; the session cookie authenticates GraphQL; me shows the linked identity', async () => {
    const s = await signIn(`login_hint=${encodeURIComponent(admin)}&prompt=none&returnTo=${encodeURIComponent('/connectors?tab=1')}`);
    expect(s.callback.status).toBe(302);
    expect(s.callback.headers.get('location')).toBe('/connectors?tab=1');
    const raw = setCookie(s.callback, 'warden_session')!.raw;
    expect(raw).toMatch(/HttpOnly/i);
    expect(raw).toMatch(/SameSite=Lax/i);
    expect(raw).toMatch(/Path=\//);
    expect(raw).not.toMatch(/Secure/i); // PUBLIC_URL is http here; https adds Secure and the __Host- prefix
    expect(s.session).toBeDefined();

    // The provider's tokens stay on the server, sealed.
    const row = await h.db.selectFrom('browser_sessions').selectAll().executeTakeFirstOrThrow();
    expect(row.access_token.startsWith('v1:')).toBe(true);
    expect(row.refresh_token?.startsWith('v1:')).toBe(true);
    expect(row.role).toBe('SUPER_ADMIN');
    expect(row.oid).toBeTruthy();

    // A connector for the emulator's tenant with the admin's USER resource.
    const c = await h.db
      .insertInto('connectors')
      .values({ display_name: 'Emulator', tenant_id: emu.config.tenantId, auth_method: 'CLIENT_SECRET', owners: ['x'] })
      .returning('id')
      .executeTakeFirstOrThrow();
    const r = await h.db
      .insertInto('resources')
      .values({ connector_id: c.id, type: 'USER', external_id: row.oid!, display_name: 'Admin', profile: '{}', search_text: '' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const me = await cookieGql<MeAnswer>(s.session!, ME);
    expect(me.errors).toBeUndefined();
    expect(me.data!.me.roles).toEqual(['SUPER_ADMIN']);
    expect(me.data!.me.subject).toBe(row.subject);
    expect(me.data!.me.displayName).toBe(row.name);
    expect(me.data!.me.identities.map((i) => i.id)).toEqual([r.id]);
    // Staff reads work with the cookie too; the same query twice (the response cache keys the caller).
    for (let i = 0; i < 2; i++) {
      const list = await cookieGql<{ connectors: { totalCount: number } }>(s.session!, '{ connectors { totalCount } }');
      expect(list.data?.connectors.totalCount).toBe(1);
    }
  });

  it('signs a plain demo user in as a member', async () => {
    const s = await signIn(`login_hint=${encodeURIComponent(plainUser)}&prompt=none`);
    expect(s.callback.headers.get('location')).toBe('/');
    const me = await cookieGql<MeAnswer>(s.session!, ME);
    expect(me.data!.me.roles).toEqual([]);
    expect((await cookieGql(s.session!, '{ connectors { totalCount } }')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('prompt=none without a hint: the callback handles login_required without a session', async () => {
    const before = (await h.db.selectFrom('browser_sessions').select('id_hash').execute()).length;
    const s = await signIn('prompt=none&returnTo=/home');
    expect(s.callback.status).toBe(302);
    expect(s.callback.headers.get('location')).toBe('/home?auth_error=login_required');
    expect(s.session).toBeUndefined();
    expect((await h.db.selectFrom('browser_sessions').select('id_hash').execute()).length).toBe(before);
  });

  it('refuses an unknown prompt, and ignores a returnTo that leaves the origin', async () => {
    expect((await fetch(`${base}/auth/login?prompt=always`, { redirect: 'manual' })).status).toBe(400);
    for (const evil of ['https://evil.example', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
      const s = await signIn(`login_hint=${encodeURIComponent(plainUser)}&prompt=none&returnTo=${encodeURIComponent(evil)}`);
      expect(s.callback.headers.get('location'), evil).toBe('/');
    }
  });
});

describe('attacks on browser sign-in', () => {
  it('refuses a callback without or with a wrong login cookie, and a replayed callback', async () => {
    const start = await fetch(`${base}/auth/login?login_hint=${encodeURIComponent(admin)}&prompt=none`, { redirect: 'manual' });
    const login = setCookie(start, 'warden_login')!.value;
    const idp = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const back = new URL(idp.headers.get('location')!);
    const url = `${base}${back.pathname}${back.search}`;
    const missing = await fetch(url, { redirect: 'manual' });
    expect(missing.status).toBe(400);
    expect(setCookie(missing, 'warden_session')).toBeUndefined();
    const wrong = await fetch(url, { redirect: 'manual', headers: { cookie: `warden_login=${'A'.repeat(43)}` } });
    expect(wrong.status).toBe(400);
    // A wrong cookie does not consume the state: the browser that started the sign-in completes it, once.
    const right = await fetch(url, { redirect: 'manual', headers: { cookie: `warden_login=${login}` } });
    expect(right.status).toBe(302);
    expect(setCookie(right, 'warden_session')).toBeDefined();
    const again = await fetch(url, { redirect: 'manual', headers: { cookie: `warden_login=${login}` } });
    expect(again.status).toBe(400);

    // A completed sign-in replayed.
    const s = await signIn(`login_hint=${encodeURIComponent(admin)}&prompt=none`);
    expect(s.session).toBeDefined();
    const replay = await fetch(s.callbackUrl, { redirect: 'manual', headers: { cookie: `warden_login=${s.loginCookie}` } });
    expect(replay.status).toBe(400);
    expect(setCookie(replay, 'warden_session')).toBeUndefined();
    // A state that was never issued.
    const forged = await fetch(`${base}/auth/callback?code=x&state=nope`, { redirect: 'manual', headers: { cookie: 'warden_login=x' } });
    expect(forged.status).toBe(400);
  });

  it('CSRF: a cookie-authenticated POST from a foreign Origin, without an Origin or not as JSON is 403', async () => {
    const s = await signIn(`login_hint=${encodeURIComponent(admin)}&prompt=none`);
    expect((await cookieGql(s.session!, ME, { origin: 'https://evil.example' })).status).toBe(403);
    const noOrigin = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `warden_session=${s.session}` },
      body: JSON.stringify({ query: ME }),
    });
    expect(noOrigin.status).toBe(403);
    const form = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: publicOrigin, cookie: `warden_session=${s.session}` },
      body: JSON.stringify({ query: ME }),
    });
    expect(form.status).toBe(403);
    const get = await fetch(`${base}/graphql?query=${encodeURIComponent(ME)}`, { headers: { cookie: `warden_session=${s.session}` } });
    expect(get.status).toBe(403);
    // A bearer token next to a foreign cookie is judged by the token alone.
    const viewer = await h.token('VIEWER', 'vera');
    const bearer = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer}`, cookie: 'warden_session=forged' },
      body: JSON.stringify({ query: ME }),
    });
    expect(bearer.status).toBe(200);
  });

  it('a forged, expired or idle session cookie is UNAUTHENTICATED; after logout the cookie no longer works', async () => {
    const forged = await cookieGql(Buffer.alloc(32, 7).toString('base64url'), ME);
    expect(forged.status).toBe(401);
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const stale = await signIn(`login_hint=${encodeURIComponent(admin)}&prompt=none`);
    const { createHash } = await import('node:crypto');
    const hash = (v: string) => createHash('sha256').update(v).digest('hex');
    await h.db
      .updateTable('browser_sessions')
      .set({ absolute_expires_at: new Date(Date.now() - 1000) })
      .where('id_hash', '=', hash(stale.session!))
      .execute();
    expect((await cookieGql(stale.session!, ME)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const idle = await signIn(`login_hint=${encodeURIComponent(admin)}&prompt=none`);
    await h.db
      .updateTable('browser_sessions')
      .set({ last_seen_at: new Date(Date.now() - 9 * 3600_000) })
      .where('id_hash', '=', hash(idle.session!))
      .execute();
    expect((await cookieGql(idle.session!, ME)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // Near its expiry the access token is refreshed with the refresh token; the session goes on.
    const s = await signIn(`login_hint=${encodeURIComponent(admin)}&prompt=none`);
    await h.db
      .updateTable('browser_sessions')
      .set({ access_expires_at: new Date(Date.now() + 5_000) })
      .where('id_hash', '=', hash(s.session!))
      .execute();
    const refreshed = await cookieGql<MeAnswer>(s.session!, ME);
    expect(refreshed.data?.me.roles).toEqual(['SUPER_ADMIN']);
    const row = await h.db.selectFrom('browser_sessions').selectAll().where('id_hash', '=', hash(s.session!)).executeTakeFirstOrThrow();
    expect(row.access_expires_at.getTime()).toBeGreaterThan(Date.now() + 600_000);

    // Logout: Origin-checked, ends the session, clears the cookie, sends the browser to the provider.
    const foreign = await fetch(`${base}/auth/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: 'https://evil.example', cookie: `warden_session=${s.session}` },
    });
    expect(foreign.status).toBe(403);
    expect((await cookieGql(s.session!, ME)).status).toBe(200);
    const out = await fetch(`${base}/auth/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: publicOrigin, cookie: `warden_session=${s.session}` },
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toMatch(/\/oauth2\/v2\.0\/logout\?/);
    expect(setCookie(out, 'warden_session')?.raw).toMatch(/Expires=Thu, 01 Jan 1970/);
    const after = await cookieGql(s.session!, ME);
    expect(after.status).toBe(401);
    // Sign-in and logout are audited with the subject and the Entra object id.
    const audit = await h.db
      .selectFrom('audit_events')
      .select(['action', 'actor', 'details'])
      .where('action', 'in', ['session.started', 'session.ended'])
      .where('actor', '=', row.subject)
      .execute();
    expect(audit.filter((a) => a.action === 'session.ended')).toHaveLength(1);
    expect(audit.find((a) => a.action === 'session.ended')!.details).toMatchObject({
      actorOid: row.oid,
      reason: 'logout',
      role: 'SUPER_ADMIN',
    });
    expect(audit.filter((a) => a.action === 'session.started').length).toBeGreaterThanOrEqual(1);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('graphql-ws: the session cookie works from PUBLIC_URL’s origin; a foreign Origin is refused at connect', async () => {
    const s = await signIn(`login_hint=${encodeURIComponent(admin)}&prompt=none`);
    const connect = (origin: string, onClosed?: (code: number) => void) =>
      createClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: class extends WebSocket {
          constructor(url: string, protocols?: string | string[]) {
            super(url, protocols, { headers: { origin, cookie: `warden_session=${s.session}` } });
          }
        },
        retryAttempts: 0,
        lazy: !onClosed,
        onNonLazyError: () => undefined,
        ...(onClosed ? { on: { closed: (e: unknown) => onClosed((e as { code: number }).code) } } : {}),
      });
    const once = (c: ReturnType<typeof createClient>) =>
      new Promise<unknown>((resolve, reject) => {
        let result: unknown;
        c.subscribe({ query: '{ me { roles } }' }, { next: (v) => (result = v), error: reject, complete: () => resolve(result) });
      });
    const ok = connect(publicOrigin);
    try {
      expect(await once(ok)).toEqual({ data: { me: { roles: ['SUPER_ADMIN'] } } });
    } finally {
      await ok.dispose();
    }
    const evil = connect('https://evil.example');
    try {
      await expect(once(evil)).rejects.toBeDefined();
    } finally {
      await evil.dispose();
    }
    // Logout closes the session's open sockets (4401).
    let closedWith: number | undefined;
    const open = connect(publicOrigin, (code) => (closedWith = code));
    try {
      expect(await once(open)).toEqual({ data: { me: { roles: ['SUPER_ADMIN'] } } });
      const out = await fetch(`${base}/auth/logout`, {
        method: 'POST',
        redirect: 'manual',
        headers: { origin: publicOrigin, cookie: `warden_session=${s.session}` },
      });
      expect(out.status).toBe(303);
      await expect.poll(() => closedWith, { timeout: 5_000 }).toBe(4401);
    } finally {
      await open.dispose();
    }
  });
});

describe('several gateway replicas', () => {
  it('a logout handled by one replica closes the session’s sockets on another (4401), through the bus', async () => {
    const s = await signIn(`login_hint=${encodeURIComponent(admin)}&prompt=none`);
    const replica = await startGateway(
      {
        DATABASE_URL: h.testDb.url,
        NATS_URL: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
        BUS_NAMESPACE: h.testBus.namespace,
        WARDEN_SECRET_KEYS: SECRET_KEYS,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        OIDC_ISSUER: `${emu.config.baseUrl}/${emu.config.tenantId}/v2.0`,
        OIDC_CLIENT_ID: emu.app('warden').clientId,
        OIDC_CLIENT_SECRET: emu.app('warden').clientSecret,
        PUBLIC_URL: publicOrigin,
      },
      { logger: pino({ level: 'silent' }), bus: h.testBus.bus },
    );
    let closedWith: number | undefined;
    const client = createClient({
      url: replica.url.replace(/^http/, 'ws'),
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers: { origin: publicOrigin, cookie: `warden_session=${s.session}` } });
        }
      },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      on: { closed: (e: unknown) => (closedWith = (e as { code: number }).code) },
    });
    try {
      const roles = await new Promise<unknown>((resolve, reject) => {
        let result: unknown;
        client.subscribe({ query: '{ me { roles } }' }, { next: (v) => (result = v), error: reject, complete: () => resolve(result) });
      });
      expect(roles).toEqual({ data: { me: { roles: ['SUPER_ADMIN'] } } });
      // The logout goes to the first gateway; the socket lives on the replica.
      const out = await fetch(`${base}/auth/logout`, {
        method: 'POST',
        redirect: 'manual',
        headers: { origin: publicOrigin, cookie: `warden_session=${s.session}` },
      });
      expect(out.status).toBe(303);
      await expect.poll(() => closedWith, { timeout: 5_000 }).toBe(4401);
    } finally {
      await client.dispose();
      await replica.close();
    }
  });
});

describe('signing keys', () => {
  it('after the emulator rotates its key, a bearer token minted after the rotation verifies (JWKS fetched again)', async () => {
    const warden = emu.app('warden');
    const appToken = async () => {
      const res = await fetch(`${emu.config.authorityHost}/${emu.config.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: warden.clientId,
          client_secret: warden.clientSecret,
          scope: `api://${warden.clientId}/.default`,
        }),
      });
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const kid = (t: string) => (JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    const before = await appToken();
    expect((await h.gql<MeAnswer>(before, ME)).data?.me.roles).toEqual(['SUPER_ADMIN']);
    const rotated = await fetch(`${emu.config.baseUrl}/_emulator/keys/rotate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(rotated.status).toBe(200);
    // OIDC_JWKS_COOLDOWN_SECONDS=1 here (30 by default): wait it out.
    await new Promise((r) => setTimeout(r, 1_100));
    const after = await appToken();
    expect(kid(after)).not.toBe(kid(before));
    const r = await h.gql<MeAnswer>(after, ME);
    expect(r.errors).toBeUndefined();
    expect(r.data!.me.roles).toEqual(['SUPER_ADMIN']);
    // The token of the previous key still verifies (the previous key stays published).
    expect((await h.gql<MeAnswer>(before, ME)).data?.me.roles).toEqual(['SUPER_ADMIN']);
  });
});

describe('cookies and returnTo', () => {
  it('uses __Host- cookies with Secure when PUBLIC_URL is https, plain names over http', () => {
    const oidc = new OidcVerifier({ issuer: 'https://idp.example/t/v2.0', audience: 'a', maxTtlSeconds: 3600 });
    const make = (publicUrl: string) =>
      new BrowserAuth(
        { publicUrl, clientId: 'a', clientSecret: 's', apiScope: 'api://a/access_as_user', idleTimeoutSeconds: 1, maxLifetimeSeconds: 2 },
        oidc,
        h.db,
        box,
        pino({ level: 'silent' }),
        h.testBus.bus,
      );
    const https = make('https://warden.example/app');
    expect([https.sessionCookie, https.loginCookie, https.secure, https.origin]).toEqual([
      '__Host-warden_session',
      '__Host-warden_login',
      true,
      'https://warden.example',
    ]);
    const http = make('http://localhost:4000');
    expect([http.sessionCookie, http.secure]).toEqual(['warden_session', false]);
  });

  it('keeps returnTo only as a path on this origin', () => {
    const o = 'https://warden.example';
    expect(safeReturnTo('/connectors?x=1#y', o)).toBe('/connectors?x=1#y');
    for (const bad of ['https://evil.example/', '//evil.example', '/\\evil.example', 'evil', '/\u0000x', ' /x', undefined, ['/a']])
      expect(safeReturnTo(bad, o), String(bad)).toBe('/');
  });
});

describe('browser sign-in configuration', () => {
  it('needs OIDC_ISSUER and OIDC_CLIENT_ID with a secret, and an https PUBLIC_URL in production (loopback excepted)', () => {
    const base = {
      DATABASE_URL: 'postgres://x',
      WARDEN_SECRET_KEYS: SECRET_KEYS,
      OIDC_ISSUER: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0',
      OIDC_CLIENT_ID: 'warden',
      OIDC_CLIENT_SECRET: 'shh',
      NODE_ENV: 'production',
    };
    expect(() => parseEnvironment({ ...base, PUBLIC_URL: 'http://warden.example' })).toThrow(/PUBLIC_URL: must be an https URL/);
    expect(parseEnvironment({ ...base, PUBLIC_URL: 'https://warden.example' }).OIDC_CLIENT_SECRET).toBe('shh');
    expect(parseEnvironment({ ...base, PUBLIC_URL: 'http://localhost:4000' }).SESSION_IDLE_TIMEOUT).toBe(8 * 3600);
    expect(parseEnvironment({ ...base, PUBLIC_URL: 'http://localhost:4000', SESSION_MAX_LIFETIME: '12h' }).SESSION_MAX_LIFETIME).toBe(
      12 * 3600,
    );
    expect(() => parseEnvironment({ ...base, OIDC_CLIENT_ID: undefined, OIDC_AUDIENCE: 'x' })).toThrow(
      /OIDC_CLIENT_ID: required when OIDC_CLIENT_SECRET/,
    );
    expect(() =>
      parseEnvironment({
        DATABASE_URL: 'postgres://x',
        WARDEN_SECRET_KEYS: SECRET_KEYS,
        AUTH_JWT_SECRET: JWT_SECRET,
        OIDC_CLIENT_SECRET: 'shh',
      }),
    ).toThrow(/OIDC_ISSUER: required when/);
  });
});

describe('without the browser configuration', () => {
  it('answers the sign-in routes with a clear 503', async () => {
    const plain = await startHarness();
    try {
      const u = new URL(plain.gateway.url);
      const r = await fetch(`${u.origin}/auth/login`, { redirect: 'manual' });
      expect(r.status).toBe(503);
      expect(await r.text()).toMatch(/not configured/);
    } finally {
      await plain.close();
    }
  });
});
