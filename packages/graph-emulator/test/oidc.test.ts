import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EmulatorApp, RunningEmulator } from '../src/index';
import { decodeJwt, graph, start } from './helpers';

const REDIRECT = 'http://localhost:4000/auth/callback';

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

type TokenBody = {
  access_token?: string;
  id_token?: string;
  refresh_token?: string;
  scope?: string;
  error?: string;
  error_codes?: number[];
  error_description?: string;
};

describe('OpenID Connect provider', () => {
  let emu: RunningEmulator;
  let warden: EmulatorApp;
  let base: string;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let issuer: string;

  beforeAll(async () => {
    emu = await start(); // size S: 200 users, a few of them disabled
    warden = emu.app('warden');
    base = `${emu.config.authorityHost}/${emu.config.tenantId}`;
    const doc = (await (await fetch(`${base}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    issuer = doc['issuer'] as string;
    jwks = createRemoteJWKSet(new URL(doc['jwks_uri'] as string), { cacheMaxAge: 0, cooldownDuration: 0 });
  });
  afterAll(() => emu.close());

  const api = () => warden.api!;
  const superAdmin = () => api().roleHolders['Warden.SuperAdmin']![0]!;
  const viaGroup = () => api().viaGroup[0]!.memberUpns[0]!;

  function authorizeUrl(p: Record<string, string | undefined>): string {
    const q = new URLSearchParams();
    const all: Record<string, string | undefined> = {
      client_id: warden.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      response_mode: 'query',
      scope: `openid profile offline_access api://${warden.clientId}/access_as_user`,
      state: 'st-123',
      nonce: 'n-456',
      ...p,
    };
    for (const [k, v] of Object.entries(all)) if (v !== undefined) q.set(k, v);
    return `${base}/oauth2/v2.0/authorize?${q.toString()}`;
  }

  /** Page → pick the user (form post) → 302 back with code and state. */
  async function signIn(upn: string, p: Record<string, string | undefined> = {}): Promise<URL> {
    const page = await fetch(authorizeUrl(p), { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    expect(action).toBeTruthy();
    const posted = await fetch(new URL(action as string, emu.config.authorityHost), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: upn }),
      redirect: 'manual',
    });
    expect(posted.status).toBe(302);
    return new URL(posted.headers.get('location') as string);
  }

  const token = async (form: Record<string, string>): Promise<{ status: number; body: TokenBody }> => {
    const r = await fetch(`${base}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    return { status: r.status, body: (await r.json()) as TokenBody };
  };

  const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
    token({
      grant_type: 'authorization_code',
      client_id: warden.clientId,
      client_secret: warden.clientSecret,
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      ...extra,
    });

  const verify = async (jwt: string, audience: string): Promise<JWTPayload> => (await jwtVerify(jwt, jwks, { issuer, audience })).payload;

  it('reports the Warden app with its roles, role holders and redirect URIs', () => {
    expect(emu.config.apps.map((a) => a.name)).toContain('warden');
    expect(api().appRoles.map((r) => r.value)).toEqual(['Warden.SuperAdmin', 'Warden.ConnectorAdmin', 'Warden.Viewer']);
    expect(api().roleHolders['Warden.SuperAdmin']).toHaveLength(1);
    expect(api().roleHolders['Warden.ConnectorAdmin']).toHaveLength(2);
    expect(api().roleHolders['Warden.Viewer']).toHaveLength(1);
    expect(api().viaGroup).toHaveLength(1);
    expect(api().redirectUris).toEqual([REDIRECT]);
    expect(api().identifierUri).toBe(`api://${warden.clientId}`);
  });

  it('lists the Warden service principal and its assignments through Graph', async () => {
    const t = await (async () => {
      const r = await token({
        grant_type: 'client_credentials',
        client_id: emu.app('readonly').clientId,
        client_secret: emu.app('readonly').clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      });
      return r.body.access_token as string;
    })();
    const sp = await graph(emu, t, `/servicePrincipals(appId='${warden.clientId}')`);
    expect(sp.status).toBe(200);
    expect((sp.body['appRoles'] as { value: string }[]).map((r) => r.value)).toContain('Warden.SuperAdmin');
    const assigned = await graph(emu, t, `/servicePrincipals/${api().servicePrincipalId}/appRoleAssignedTo`);
    const types = (assigned.body['value'] as { principalType: string }[]).map((a) => a.principalType).sort();
    expect(types).toEqual(['Group', 'ServicePrincipal', 'User', 'User', 'User', 'User']);
  });

  it('runs the authorization code flow with PKCE: page, form post, code, tokens verified against the JWKS', async () => {
    const { verifier, challenge } = pkce();
    const loc = await signIn(superAdmin(), { code_challenge: challenge, code_challenge_method: 'S256' });
    expect(loc.origin + loc.pathname).toBe(REDIRECT);
    expect(loc.searchParams.get('state')).toBe('st-123');
    const code = loc.searchParams.get('code') as string;
    expect(code).toBeTruthy();
    const r = await redeem(code, verifier);
    expect(r.status).toBe(200);
    expect(r.body.refresh_token).toBeTruthy();
    expect(r.body.scope).toContain(`api://${warden.clientId}/access_as_user`);
    const id = await verify(r.body.id_token as string, warden.clientId);
    expect(id).toMatchObject({
      aud: warden.clientId,
      iss: `${emu.config.authorityHost}/${emu.config.tenantId}/v2.0`,
      tid: emu.config.tenantId,
      nonce: 'n-456',
      preferred_username: superAdmin(),
      roles: ['Warden.SuperAdmin'],
      ver: '2.0',
    });
    expect(typeof id['oid']).toBe('string');
    expect(typeof id['name']).toBe('string');
    expect(String(id.sub)).toHaveLength(43);
    expect(Number(id.exp)).toBeGreaterThan(Number(id.iat));
    expect(Number(id.nbf)).toBeLessThanOrEqual(Number(id.iat));
    const at = await verify(r.body.access_token as string, warden.clientId);
    expect(at).toMatchObject({
      aud: warden.clientId,
      scp: 'access_as_user',
      idtyp: 'user',
      roles: ['Warden.SuperAdmin'],
      azp: warden.clientId,
      azpacr: '1',
      oid: id['oid'],
      sub: id.sub,
      ver: '2.0',
    });
    expect(decodeProtectedHeader(r.body.access_token as string).kid).toBeTruthy();
    // A Warden API token is not a Graph token.
    expect((await graph(emu, r.body.access_token as string, '/users')).status).toBe(401);
  });

  it('grants roles held through a group, and none to an unassigned user', async () => {
    const { verifier, challenge } = pkce();
    const loc = await signIn(viaGroup(), { code_challenge: challenge, code_challenge_method: 'S256' });
    const r = await redeem(loc.searchParams.get('code') as string, verifier);
    expect(r.status).toBe(200);
    expect((await verify(r.body.id_token as string, warden.clientId))['roles']).toEqual(['Warden.Viewer']);
    expect((await verify(r.body.access_token as string, warden.clientId))['roles']).toEqual(['Warden.Viewer']);

    const holders = new Set([...Object.values(api().roleHolders).flat(), ...api().viaGroup.flatMap((g) => g.memberUpns)]);
    const exp = emu
      .exportTenant()
      .users.find((u) => u['accountEnabled'] === true && u['userType'] === 'Member' && !holders.has(String(u['userPrincipalName'])));
    const groupId = api().viaGroup[0]!.groupId;
    const inGroup = emu.exportTenant().groups.find((g) => g.id === groupId)!.members;
    if (exp && !inGroup.includes(String(exp['id']))) {
      const p = pkce();
      const l2 = await signIn(String(exp['userPrincipalName']), { code_challenge: p.challenge, code_challenge_method: 'S256' });
      const r2 = await redeem(l2.searchParams.get('code') as string, p.verifier);
      expect(decodeJwt(r2.body.id_token as string)['roles']).toBeUndefined();
    }
  });

  it('refuses a wrong code_verifier, a reused code and a different redirect_uri with invalid_grant', async () => {
    const { verifier, challenge } = pkce();
    const code = (await signIn(superAdmin(), { code_challenge: challenge, code_challenge_method: 'S256' })).searchParams.get(
      'code',
    ) as string;
    const wrong = await redeem(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    expect(wrong.body.error_codes).toEqual([501481]);
    const otherRedirect = await redeem(code, verifier, { redirect_uri: 'http://localhost:4000/other' });
    expect(otherRedirect.body.error).toBe('invalid_grant');
    expect(otherRedirect.body.error_codes).toEqual([50011]);
    const missingSecret = await token({
      grant_type: 'authorization_code',
      client_id: warden.clientId,
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expect(missingSecret.status).toBe(401);
    expect(missingSecret.body.error).toBe('invalid_client');
    expect((await redeem(code, verifier)).status).toBe(200);
    const reused = await redeem(code, verifier);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    expect(reused.body.error_codes).toEqual([54005]);
    const unknown = await redeem('emu.nope', verifier);
    expect(unknown.body.error).toBe('invalid_grant');
  });

  it('shows an error page (no redirect) for an unregistered redirect_uri or unknown client', async () => {
    const bad = await fetch(authorizeUrl({ redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('location')).toBeNull();
    expect(await bad.text()).toContain('AADSTS50011');
    const unknown = await fetch(authorizeUrl({ client_id: '11111111-2222-3333-4444-555555555555' }), { redirect: 'manual' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('AADSTS700016');
  });

  it('redirects other authorize errors back with error, error_description and state', async () => {
    const r = await fetch(authorizeUrl({ response_type: 'token' }), { redirect: 'manual' });
    expect(r.status).toBe(302);
    const loc = new URL(r.headers.get('location') as string);
    expect(loc.searchParams.get('error')).toBe('unsupported_response_type');
    expect(loc.searchParams.get('state')).toBe('st-123');
    const plain = await fetch(authorizeUrl({ code_challenge: pkce().challenge, code_challenge_method: 'plain' }), { redirect: 'manual' });
    expect(new URL(plain.headers.get('location') as string).searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses a public client without PKCE and redeems its code without a secret when PKCE is used', async () => {
    const publicRedirect = 'http://localhost:53682/';
    // http://localhost is registered as a public-client (native) redirect URI; any port matches.
    const r = await fetch(authorizeUrl({ redirect_uri: publicRedirect }), { redirect: 'manual' });
    expect(r.status).toBe(302);
    const loc = new URL(r.headers.get('location') as string);
    expect(loc.searchParams.get('error')).toBe('invalid_request');
    expect(loc.searchParams.get('error_description')).toMatch(/^AADSTS9002325:/);
    expect(loc.searchParams.get('state')).toBe('st-123');

    const { verifier, challenge } = pkce();
    const code = (
      await signIn(superAdmin(), { redirect_uri: publicRedirect, code_challenge: challenge, code_challenge_method: 'S256' })
    ).searchParams.get('code') as string;
    const withSecret = await redeem(code, verifier, { redirect_uri: publicRedirect });
    expect(withSecret.body.error).toBe('invalid_client');
    const ok = await token({
      grant_type: 'authorization_code',
      client_id: warden.clientId,
      code,
      redirect_uri: publicRedirect,
      code_verifier: verifier,
    });
    expect(ok.status).toBe(200);
    expect((await verify(ok.body.access_token as string, warden.clientId))['azpacr']).toBe('0');
  });

  it('accepts a confidential client without PKCE', async () => {
    const loc = await signIn(superAdmin(), {});
    const r = await token({
      grant_type: 'authorization_code',
      client_id: warden.clientId,
      client_secret: warden.clientSecret,
      code: loc.searchParams.get('code') as string,
      redirect_uri: REDIRECT,
    });
    expect(r.status).toBe(200);
  });

  it('answers prompt=none with a code for a login_hint user and login_required without one', async () => {
    const { verifier, challenge } = pkce();
    const silent = await fetch(
      authorizeUrl({ prompt: 'none', login_hint: superAdmin(), code_challenge: challenge, code_challenge_method: 'S256' }),
      {
        redirect: 'manual',
      },
    );
    expect(silent.status).toBe(302);
    const loc = new URL(silent.headers.get('location') as string);
    expect(loc.searchParams.get('state')).toBe('st-123');
    const r = await redeem(loc.searchParams.get('code') as string, verifier);
    expect(r.status).toBe(200);
    expect((await verify(r.body.id_token as string, warden.clientId))['preferred_username']).toBe(superAdmin());

    for (const hint of [undefined, 'nobody@example.com']) {
      const none = await fetch(authorizeUrl({ prompt: 'none', login_hint: hint }), { redirect: 'manual' });
      expect(none.status).toBe(302);
      const l = new URL(none.headers.get('location') as string);
      expect(l.origin + l.pathname).toBe(REDIRECT);
      expect(l.searchParams.get('error')).toBe('login_required');
      expect(l.searchParams.get('error_description')).toMatch(/^AADSTS50058:/);
      expect(l.searchParams.get('state')).toBe('st-123');
      expect(l.searchParams.get('code')).toBeNull();
    }
  });

  it('offers the role holders on the page and re-shows it for an unknown or disabled user', async () => {
    const page = await fetch(authorizeUrl({ login_hint: 'someone@example.com' }), { redirect: 'manual' });
    const html = await page.text();
    expect(html).toContain(`value="${superAdmin()}"`);
    expect(html).toContain('Warden.SuperAdmin');
    expect(html).toContain('value="someone@example.com"');
    const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    const post = (login: string) =>
      fetch(new URL(action, emu.config.authorityHost), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ login }),
        redirect: 'manual',
      });
    const ghost = await post('ghost@nowhere.example');
    expect(ghost.status).toBe(200);
    expect(await ghost.text()).toContain('AADSTS50034');
    const disabled = emu.exportTenant().users.find((u) => u['accountEnabled'] === false);
    expect(disabled).toBeDefined();
    if (disabled) {
      const r = await post(String(disabled['userPrincipalName']));
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('AADSTS50057');
      const none = await fetch(authorizeUrl({ prompt: 'none', login_hint: String(disabled['userPrincipalName']) }), { redirect: 'manual' });
      expect(new URL(none.headers.get('location') as string).searchParams.get('error')).toBe('interaction_required');
    }
  });

  it('issues new tokens for a refresh token', async () => {
    const { verifier, challenge } = pkce();
    const first = await redeem(
      (await signIn(superAdmin(), { code_challenge: challenge, code_challenge_method: 'S256' })).searchParams.get('code') as string,
      verifier,
    );
    const r = await token({
      grant_type: 'refresh_token',
      client_id: warden.clientId,
      client_secret: warden.clientSecret,
      refresh_token: first.body.refresh_token as string,
    });
    expect(r.status).toBe(200);
    expect(r.body.refresh_token).toBeTruthy();
    const at = await verify(r.body.access_token as string, warden.clientId);
    expect(at['roles']).toEqual(['Warden.SuperAdmin']);
    expect(at['preferred_username']).toBe(superAdmin());
    expect((await verify(r.body.id_token as string, warden.clientId))['nonce']).toBeUndefined();
    const garbage = await token({
      grant_type: 'refresh_token',
      client_id: warden.clientId,
      client_secret: warden.clientSecret,
      refresh_token: 'x',
    });
    expect(garbage.body.error).toBe('invalid_grant');
    const otherClient = await token({
      grant_type: 'refresh_token',
      client_id: emu.app('readonly').clientId,
      client_secret: emu.app('readonly').clientSecret,
      refresh_token: first.body.refresh_token as string,
    });
    expect(otherClient.body.error).toBe('invalid_grant');
  });

  it('issues app tokens for the Warden API with client credentials (api:// and bare client id)', async () => {
    for (const scope of [`api://${warden.clientId}/.default`, `${warden.clientId}/.default`]) {
      const r = await token({ grant_type: 'client_credentials', client_id: warden.clientId, client_secret: warden.clientSecret, scope });
      expect(r.status).toBe(200);
      const claims = await verify(r.body.access_token as string, warden.clientId);
      expect(claims).toMatchObject({
        idtyp: 'app',
        roles: ['Warden.SuperAdmin'],
        azp: warden.clientId,
        ver: '2.0',
        oid: api().servicePrincipalId,
      });
    }
    const other = await token({
      grant_type: 'client_credentials',
      client_id: emu.app('unconsented').clientId,
      client_secret: emu.app('unconsented').clientSecret,
      scope: `api://${warden.clientId}/.default`,
    });
    expect(other.status).toBe(200);
    expect(decodeJwt(other.body.access_token as string)['roles']).toBeUndefined();
  });

  it('issues a Microsoft Graph token for OIDC scopes only, which Graph accepts and answers 403 for app-permission reads', async () => {
    const { verifier, challenge } = pkce();
    const loc = await signIn(superAdmin(), { scope: 'openid profile email', code_challenge: challenge, code_challenge_method: 'S256' });
    const r = await redeem(loc.searchParams.get('code') as string, verifier);
    expect(r.status).toBe(200);
    expect(r.body.refresh_token).toBeUndefined();
    const at = decodeJwt(r.body.access_token as string);
    expect(at).toMatchObject({ aud: '00000003-0000-0000-c000-000000000000', idtyp: 'user', upn: superAdmin(), ver: '1.0' });
    expect(String(at['scp'])).toContain('User.Read');
    expect(at['roles']).toBeUndefined();
    const id = await verify(r.body.id_token as string, warden.clientId);
    expect(typeof id['email']).toBe('string');
    const g = await graph(emu, r.body.access_token as string, '/users');
    expect(g.status).toBe(403);
  });

  it('refuses mixed resources and unknown API scopes with invalid_scope', async () => {
    for (const scope of [`openid api://${warden.clientId}/access_as_user User.Read`, `openid api://${warden.clientId}/nope`]) {
      const r = await fetch(authorizeUrl({ scope, code_challenge: pkce().challenge, code_challenge_method: 'S256' }), {
        redirect: 'manual',
      });
      expect(r.status).toBe(302);
      expect(new URL(r.headers.get('location') as string).searchParams.get('error')).toBe('invalid_scope');
    }
  });

  it('keeps the Warden app and its role holders across reset', async () => {
    const before = structuredClone(api().roleHolders);
    const spId = api().servicePrincipalId;
    emu.reset();
    expect(api().roleHolders).toEqual(before);
    expect(api().servicePrincipalId).toBe(spId);
  });

  it('logs out to a registered post_logout_redirect_uri with state, else shows the signed-out page', async () => {
    const ok = await fetch(`${base}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent(REDIRECT)}&state=bye`, {
      redirect: 'manual',
    });
    expect(ok.status).toBe(302);
    const loc = new URL(ok.headers.get('location') as string);
    expect(loc.origin + loc.pathname).toBe(REDIRECT);
    expect(loc.searchParams.get('state')).toBe('bye');
    const other = await fetch(`${base}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`, {
      redirect: 'manual',
    });
    expect(other.status).toBe(200);
    expect(other.headers.get('location')).toBeNull();
  });

  it('sets the redirect URIs through the control route', async () => {
    const url = `${emu.config.baseUrl}/_emulator/apps/warden/redirect-uris`;
    const set = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirectUris: [REDIRECT, 'https://warden.example/auth/callback'] }),
    });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { redirectUris: string[] }).redirectUris).toContain('https://warden.example/auth/callback');
    const page = await fetch(authorizeUrl({ redirect_uri: 'https://warden.example/auth/callback' }), { redirect: 'manual' });
    expect(page.status).toBe(200);
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirectUris: ['not a url'] }),
    });
    expect(bad.status).toBe(400);
  });

  it('expires codes after 10 minutes (invalid_grant 70008) and retires the previous key after 24 hours', async () => {
    const { verifier, challenge } = pkce();
    const code = (await signIn(superAdmin(), { code_challenge: challenge, code_challenge_method: 'S256' })).searchParams.get(
      'code',
    ) as string;
    const kidBefore = (await (await fetch(`${base}/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
    const rotated = emu.rotateSigningKey();
    // The emulator runs in this process: moving Date forward moves its clock (TLS is not affected).
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 10 * 60_000 + 1000);
      const late = await redeem(code, verifier);
      expect(late.body.error).toBe('invalid_grant');
      expect(late.body.error_codes).toEqual([70008]);
      let keys = (await (await fetch(`${base}/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
      expect(keys.keys.map((k) => k.kid)).toEqual([rotated, kidBefore.keys[0]!.kid]);
      vi.setSystemTime(Date.now() + 24 * 3600_000);
      keys = (await (await fetch(`${base}/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
      expect(keys.keys.map((k) => k.kid)).toEqual([rotated]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rotates the signing key: old tokens still verify, new ones carry the new kid', async () => {
    const cc = () =>
      token({
        grant_type: 'client_credentials',
        client_id: warden.clientId,
        client_secret: warden.clientSecret,
        scope: `api://${warden.clientId}/.default`,
      });
    const graphToken = async () =>
      (
        await token({
          grant_type: 'client_credentials',
          client_id: emu.app('readonly').clientId,
          client_secret: emu.app('readonly').clientSecret,
          scope: 'https://graph.microsoft.com/.default',
        })
      ).body.access_token as string;
    const before = (await cc()).body.access_token as string;
    const graphBefore = await graphToken();
    const oldKid = decodeProtectedHeader(before).kid;
    const rot = await fetch(`${emu.config.baseUrl}/_emulator/keys/rotate`, { method: 'POST' });
    expect(rot.status).toBe(200);
    const { kid } = (await rot.json()) as { kid: string };
    expect(kid).not.toBe(oldKid);
    const keys = (await (await fetch(`${base}/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
    expect(keys.keys.map((k) => k.kid)).toEqual([kid, oldKid]);
    const after = (await cc()).body.access_token as string;
    expect(decodeProtectedHeader(after).kid).toBe(kid);
    await verify(before, warden.clientId);
    await verify(after, warden.clientId);
    // Graph keeps accepting tokens signed with the previous key while it is published.
    expect((await graph(emu, graphBefore, '/users?$top=1')).status).toBe(200);
    expect((await graph(emu, await graphToken(), '/users?$top=1')).status).toBe(200);

    // A rotation with no overlap retires the previous key at once.
    const again = (await (
      await fetch(`${emu.config.baseUrl}/_emulator/keys/rotate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ previousKeyTtlSeconds: 0 }),
      })
    ).json()) as { kid: string };
    const keys2 = (await (await fetch(`${base}/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
    expect(keys2.keys.map((k) => k.kid)).toEqual([again.kid]);
    await expect(verify(after, warden.clientId)).rejects.toThrow();
    expect((await graph(emu, graphBefore, '/users?$top=1')).status).toBe(401);
  });
});
