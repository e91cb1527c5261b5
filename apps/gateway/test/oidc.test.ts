import { createClient } from 'graphql-ws';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '@warden/graph-emulator';
import { mintToken } from '../src/auth/jwt';
import { acceptedIssuers, roleFromAppRoles } from '../src/auth/oidc';
import { devTokensEnabled, parseEnvironment } from '../src/environment';
import { JWT_SECRET, SECRET_KEYS, startHarness, type Harness } from './support/harness';

/**
 * RS256 bearer tokens of an OpenID Connect issuer, verified through its discovery document and JWKS.
 * The issuer is the Graph emulator (its v2.0 discovery document per tenant, its JWKS, its token
 * endpoint); the tokens are client-credentials tokens of its apps, which carry no Warden app role,
 * so they are members.
 */
let emu: RunningEmulator;
let other: RunningEmulator;
let h: Harness;
/** OIDC configured, AUTH_DEV_TOKENS=false, only the v2.0 issuer accepted. */
let strict: Harness;
let origin: string;
let issuer: string;

const ME = '{ me { subject roles displayName identities { id } } }';

async function clientToken(e: RunningEmulator, scope: string, app = 'readonly'): Promise<string> {
  const a = e.app(app);
  const res = await fetch(`${e.config.authorityHost}/${e.config.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.clientSecret, scope }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

beforeAll(async () => {
  emu = await startEmulator({ size: 'S', seed: 13 });
  other = await startEmulator({ size: 'S', seed: 14 });
  origin = new URL(emu.config.baseUrl).origin;
  issuer = `${emu.config.baseUrl}/${emu.config.tenantId}/v2.0`;
  h = await startHarness({ OIDC_ISSUER: issuer, OIDC_AUDIENCE: origin });
  strict = await startHarness({ OIDC_ISSUER: issuer, OIDC_AUDIENCE: origin, AUTH_DEV_TOKENS: 'false', OIDC_ACCEPT_V1_ISSUER: 'false' });
});
afterAll(async () => {
  await h?.close();
  await strict?.close();
  await emu?.close();
  await other?.close();
});

describe('RS256 tokens of the OpenID Connect issuer (the emulator)', () => {
  it('accepts an emulator token for the configured audience; an app token without Warden roles is a member', async () => {
    const token = await clientToken(emu, `${origin}/.default`);
    const claims = claimsOf(token);
    expect(claims['aud']).toBe(origin);
    expect(claims['iss']).toBe(`https://sts.windows.net/${emu.config.tenantId}/`);
    expect(Array.isArray(claims['roles'])).toBe(true); // Graph permissions, none of them a Warden app role
    const r = await h.gql<{ me: { subject: string; roles: string[]; displayName: string | null; identities: unknown[] } }>(token, ME);
    expect(r.errors).toBeUndefined();
    expect(r.data!.me).toEqual({ subject: claims['sub'], roles: [], displayName: null, identities: [] });
    // A member reads `me` and nothing else.
    const refused = await h.gql(token, '{ connectors { totalCount } }');
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The unconsented app's token has no roles claim at all: a member too.
    const bare = await clientToken(emu, `${origin}/.default`, 'unconsented');
    expect(claimsOf(bare)['roles']).toBeUndefined();
    expect((await h.gql<{ me: { roles: string[] } }>(bare, ME)).data!.me.roles).toEqual([]);
  });

  it('refuses a tampered token, an expired one, one signed with a key not in the JWKS, and one for another audience (401)', async () => {
    const good = await clientToken(emu, `${origin}/.default`);
    const [head, body, sig] = good.split('.') as [string, string, string];
    const elevated = Buffer.from(JSON.stringify({ ...claimsOf(good), roles: ['Warden.SuperAdmin'] })).toString('base64url');
    const flippedSig = `${sig.slice(0, -4)}${sig.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const expect401 = async (token: string, message: RegExp) => {
      const r = await h.gql(token, ME);
      expect(r.status).toBe(401);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(r.errors?.[0]?.message).toMatch(message);
    };
    await expect401(`${head}.${elevated}.${sig}`, /not valid/);
    await expect401(`${head}.${body}.${flippedSig}`, /not valid/);

    // Expired: the emulator issues a 1-second token.
    emu.updateSettings({ tokenLifetimeSeconds: 1 });
    const short = await clientToken(emu, `${origin}/.default`);
    emu.updateSettings({ tokenLifetimeSeconds: 3599 });
    await new Promise((r) => setTimeout(r, 2_100));
    await expect401(short, /expired/);

    // The right claims and the emulator's key id, but signed with a key the JWKS does not hold; and
    // the same with a key id the JWKS does not know (the gateway fetches the JWKS again, finds none).
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    expect((await exportJWK(publicKey)).kty).toBe('RSA');
    const forge = (kid: string) =>
      new SignJWT({ ...claimsOf(good), roles: ['Warden.SuperAdmin'] })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
        .sign(privateKey);
    await expect401(await forge(String(headerOf(good)['kid'])), /not valid/);
    await expect401(await forge('unknown-kid'), /not valid/);

    // Another audience: a Microsoft Graph token of the same issuer.
    const graph = await clientToken(emu, 'https://graph.microsoft.com/.default');
    expect(claimsOf(graph)['aud']).toBe('https://graph.microsoft.com');
    await expect401(graph, /audience/);
  });

  it('refuses tokens of another issuer: another tenant, and the v1.0 issuer when OIDC_ACCEPT_V1_ISSUER=false', async () => {
    const foreign = await clientToken(other, `${new URL(other.config.baseUrl).origin}/.default`);
    expect(claimsOf(foreign)['tid']).not.toBe(emu.config.tenantId);
    expect((await h.gql(foreign, ME)).status).toBe(401);
    // Correctly signed by the configured issuer's key, but its iss (v1.0 form) is no longer accepted.
    const token = await clientToken(emu, `${origin}/.default`);
    const r = await strict.gql(token, ME);
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.message).toMatch(/not issued by the configured issuer/);
  });

  it('works over graphql-ws too: a member reads me, and its subscription to a connector is FORBIDDEN', async () => {
    const token = await clientToken(emu, `${origin}/.default`);
    const c = createClient({
      url: h.gateway.url.replace('http:', 'ws:'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
    });
    try {
      const once = (query: string) =>
        new Promise<{ data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
          const results: { data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] }[] = [];
          c.subscribe(
            { query, variables: { c: '00000000-0000-4000-8000-000000000000' } },
            {
              next: (v) => results.push(v as (typeof results)[number]),
              error: (e) => (Array.isArray(e) ? resolve({ errors: e }) : reject(e as Error)),
              complete: () => resolve(results[0] ?? {}),
            },
          );
        });
      const me = await once('{ me { subject roles } }');
      expect(me.data).toEqual({ me: { subject: claimsOf(token)['sub'], roles: [] } });
      const sub = await once('subscription($c: ID!) { syncRunUpdated(connectorId: $c) { id } }');
      expect(sub.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    } finally {
      await c.dispose();
    }
  });

  it('AUTH_DEV_TOKENS=false refuses HS256 development tokens entirely; otherwise they still work next to OIDC', async () => {
    const dev = await mintToken({ secret: JWT_SECRET, issuer: 'warden' }, { sub: 'root', role: 'SUPER_ADMIN' });
    const refused = await strict.gql(dev, ME);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.message).toMatch(/development tokens \(HS256\) are not accepted/);
    const ok = await h.gql<{ me: { roles: string[] } }>(dev, ME);
    expect(ok.data!.me.roles).toEqual(['SUPER_ADMIN']);
  });
});

describe('OIDC configuration', () => {
  const base = { DATABASE_URL: 'postgres://x', WARDEN_SECRET_KEYS: SECRET_KEYS };
  const iss = 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0';

  it('maps Entra app roles to platform roles, the highest winning; none is a member', () => {
    expect(roleFromAppRoles(['Warden.Viewer', 'Warden.SuperAdmin'])).toBe('SUPER_ADMIN');
    expect(roleFromAppRoles(['Warden.Viewer', 'Warden.ConnectorAdmin'])).toBe('CONNECTOR_ADMIN');
    expect(roleFromAppRoles(['Warden.Viewer'])).toBe('VIEWER');
    expect(roleFromAppRoles(['User.Read.All', 'SUPER_ADMIN'])).toBe('MEMBER');
    expect(roleFromAppRoles(undefined)).toBe('MEMBER');
  });

  it("accepts the tenant's v1.0 issuer next to its v2.0 one (unless turned off), nothing else", () => {
    expect(acceptedIssuers(iss).issuers).toEqual([iss, 'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/']);
    expect(acceptedIssuers(iss, false).issuers).toEqual([iss]);
    expect(acceptedIssuers('https://idp.example/realms/warden').issuers).toEqual(['https://idp.example/realms/warden']);
  });

  it('AUTH_JWT_SECRET is optional with OIDC_ISSUER; development tokens are never accepted in production', () => {
    const oidcOnly = parseEnvironment({ ...base, OIDC_ISSUER: iss, OIDC_CLIENT_ID: 'warden-app' });
    expect(oidcOnly.AUTH_JWT_SECRET).toBeUndefined();
    expect(devTokensEnabled(oidcOnly)).toBe(false);
    const secret = 'x'.repeat(8) + JWT_SECRET;
    expect(devTokensEnabled(parseEnvironment({ ...base, OIDC_ISSUER: iss, OIDC_CLIENT_ID: 'a', AUTH_JWT_SECRET: secret }))).toBe(true);
    // Production: a shared secret that mints any role is refused outright, even when asked for.
    const production = { ...base, OIDC_ISSUER: iss, OIDC_CLIENT_ID: 'a', NODE_ENV: 'production' };
    expect(devTokensEnabled(parseEnvironment(production))).toBe(false);
    expect(() => parseEnvironment({ ...production, AUTH_JWT_SECRET: secret })).toThrow(
      /AUTH_JWT_SECRET: development tokens are never accepted with NODE_ENV=production/,
    );
    expect(() => parseEnvironment({ ...production, AUTH_JWT_SECRET: secret, AUTH_DEV_TOKENS: 'true' })).toThrow(
      /AUTH_DEV_TOKENS: development tokens are never accepted with NODE_ENV=production/,
    );
    expect(() => parseEnvironment({ ...base, AUTH_JWT_SECRET: secret, NODE_ENV: 'production' })).toThrow(
      /OIDC_ISSUER: required with NODE_ENV=production/,
    );
    // Even a hand-built environment that slipped past parsing gets no development tokens in production.
    expect(devTokensEnabled({ AUTH_DEV_TOKENS: true, AUTH_JWT_SECRET: secret, OIDC_ISSUER: undefined, NODE_ENV: 'production' })).toBe(
      false,
    );
    // An empty variable is an unset one (compose passes `${VAR:-}` through as '').
    expect(parseEnvironment({ ...base, AUTH_JWT_SECRET: secret, OIDC_ISSUER: '' }).OIDC_ISSUER).toBeUndefined();
    expect(
      devTokensEnabled(
        parseEnvironment({ ...base, OIDC_ISSUER: iss, OIDC_CLIENT_ID: 'a', AUTH_JWT_SECRET: secret, AUTH_DEV_TOKENS: 'false' }),
      ),
    ).toBe(false);
    expect(() => parseEnvironment(base)).toThrow(/AUTH_JWT_SECRET: required \(or configure OIDC_ISSUER\)/);
    expect(() => parseEnvironment({ ...base, OIDC_ISSUER: iss })).toThrow(/OIDC_AUDIENCE: required with OIDC_ISSUER/);
    expect(() => parseEnvironment({ ...base, OIDC_ISSUER: 'http://idp.example', OIDC_CLIENT_ID: 'a' })).toThrow(
      /OIDC_ISSUER: must be an https URL/,
    );
    expect(() => parseEnvironment({ ...base, AUTH_JWT_SECRET: JWT_SECRET, AUTH_DEV_TOKENS: 'false' })).toThrow(/no way to authenticate/);
    expect(() => parseEnvironment({ ...base, OIDC_ISSUER: iss, OIDC_CLIENT_ID: 'a', AUTH_DEV_TOKENS: 'true' })).toThrow(
      /AUTH_JWT_SECRET: required when AUTH_DEV_TOKENS=true/,
    );
  });
});
