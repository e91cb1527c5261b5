import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index';
import { decodeJwt, getToken, graph, start } from './helpers';

describe('identity platform', () => {
  let emu: RunningEmulator;
  let tokenUrl: string;
  beforeAll(async () => {
    emu = await start({ counts: { users: 20 } });
    tokenUrl = `${emu.config.authorityHost}/${emu.config.tenantId}/oauth2/v2.0/token`;
  });
  afterAll(() => emu.close());

  const post = (form: Record<string, string>) =>
    fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });

  it('serves an openid-configuration MSAL accepts', async () => {
    const r = await fetch(`${emu.config.authorityHost}/${emu.config.tenantId}/v2.0/.well-known/openid-configuration`);
    const doc = (await r.json()) as Record<string, string>;
    for (const k of ['authorization_endpoint', 'token_endpoint', 'issuer', 'jwks_uri']) expect(doc[k]).toMatch(/^https:\/\/localhost:/);
    expect(doc['token_endpoint']).toBe(tokenUrl);
    const jwks = (await (await fetch(doc['jwks_uri'] as string)).json()) as { keys: { kty: string }[] };
    expect(jwks.keys[0]?.kty).toBe('RSA');
  });

  it('issues JWTs with roles, tid, appid and exp', async () => {
    const claims = decodeJwt(await getToken(emu, 'readonly'));
    expect(claims['tid']).toBe(emu.config.tenantId);
    expect(claims['appid']).toBe(emu.app('readonly').clientId);
    expect(claims['roles']).toEqual(emu.app('readonly').roles);
    expect(Number(claims['exp'])).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(claims['aud']).toBe('https://graph.microsoft.com');
  });

  it('omits roles for the unconsented app, which then gets 403 on every read', async () => {
    const t = await getToken(emu, 'unconsented');
    expect(decodeJwt(t)['roles']).toBeUndefined();
    const r = await graph(emu, t, '/users');
    expect(r.status).toBe(403);
    expect((r.body['error'] as { code: string }).code).toBe('Authorization_RequestDenied');
  });

  it('answers a wrong secret with invalid_client (AADSTS7000215)', async () => {
    const app = emu.app('provisioning');
    const r = await post({
      client_id: app.clientId,
      client_secret: 'nope',
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
    });
    expect(r.status).toBe(401);
    const body = (await r.json()) as { error: string; error_codes: number[]; error_description: string };
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided/);
  });

  it('rejects unknown clients, bad scopes and unknown tenants', async () => {
    const app = emu.app('provisioning');
    const unknown = await post({
      client_id: randomUUID(),
      client_secret: 'x',
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe('unauthorized_client');
    const scope = await post({
      client_id: app.clientId,
      client_secret: app.clientSecret,
      grant_type: 'client_credentials',
      scope: 'User.Read',
    });
    expect(((await scope.json()) as { error: string }).error).toBe('invalid_scope');
    const tenant = await fetch(`${emu.config.authorityHost}/${randomUUID()}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: app.clientId,
        client_secret: app.clientSecret,
        grant_type: 'client_credentials',
        scope: 'https://graph.microsoft.com/.default',
      }),
    });
    expect(tenant.status).toBe(400);
  });

  it('accepts a certificate client assertion and rejects one signed by another key', async () => {
    const app = emu.app('provisioning');
    const sign = async (pem: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(app.clientId)
        .setSubject(app.clientId)
        .setAudience(tokenUrl)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(createPrivateKey(pem));
    const form = (assertion: string) => ({
      client_id: app.clientId,
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    const ok = await post(form(await sign(app.privateKeyPem as string)));
    expect(ok.status).toBe(200);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const bad = await post(form(await sign(other)));
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_client');
  });

  it("401s an expired token with Graph's message", async () => {
    emu.updateSettings({ tokenLifetimeSeconds: 1 });
    const t = await getToken(emu);
    emu.updateSettings({ tokenLifetimeSeconds: 3599 });
    await new Promise((r) => setTimeout(r, 2100));
    const r = await graph(emu, t, '/users');
    expect(r.status).toBe(401);
    expect(r.body['error']).toMatchObject({ code: 'InvalidAuthenticationToken', message: 'Access token has expired or is not yet valid.' });
  });

  it('401s a token whose signature does not verify', async () => {
    const t = await getToken(emu);
    const [h, p] = t.split('.');
    const payload = JSON.parse(Buffer.from(p as string, 'base64url').toString()) as Record<string, unknown>;
    payload['roles'] = ['Directory.ReadWrite.All', 'RoleManagement.ReadWrite.Directory'];
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${t.split('.')[2]}`;
    const r = await graph(emu, forged, '/users');
    expect(r.status).toBe(401);
  });

  it('redirects admin consent back with tenant, admin_consent=True and state', async () => {
    const app = emu.app('readonly');
    const r = await fetch(
      `${emu.config.authorityHost}/${emu.config.tenantId}/v2.0/adminconsent?client_id=${app.clientId}` +
        `&redirect_uri=${encodeURIComponent('http://localhost:3000/cb')}&state=xyz&scope=${encodeURIComponent('https://graph.microsoft.com/.default')}`,
      { redirect: 'manual' },
    );
    expect(r.status).toBe(302);
    const loc = new URL(r.headers.get('location') as string);
    expect(loc.origin + loc.pathname).toBe('http://localhost:3000/cb');
    expect(loc.searchParams.get('tenant')).toBe(emu.config.tenantId);
    expect(loc.searchParams.get('admin_consent')).toBe('True');
    expect(loc.searchParams.get('state')).toBe('xyz');
  });
});
