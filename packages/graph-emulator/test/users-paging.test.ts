import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index';
import { getToken, graph, start } from './helpers';

describe('GET /users', () => {
  let emu: RunningEmulator;
  let token: string;
  beforeAll(async () => {
    emu = await start();
    token = await getToken(emu);
  });
  afterAll(() => emu.close());

  it('trusts the emulator CA in a forked worker without disabling TLS checks', async () => {
    const res = await fetch(`${emu.config.baseUrl}/${emu.config.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(process.env['NODE_EXTRA_CA_CERTS']).toBe(emu.config.caCertPath);
  });

  it('pages all users with absolute https nextLinks and $select', async () => {
    const exported = emu.exportTenant().users.map((u) => u['id']);
    const seen: string[] = [];
    let url: string | undefined = '/users?$top=37&$select=id,displayName';
    let pages = 0;
    while (url) {
      const r = await graph(emu, token, url);
      expect(r.status).toBe(200);
      const value = r.body['value'] as { id: string; displayName: string }[];
      for (const u of value) {
        expect(Object.keys(u).sort()).toEqual(['displayName', 'id']);
        seen.push(u.id);
      }
      url = r.body['@odata.nextLink'] as string | undefined;
      if (url) expect(url.startsWith(`${emu.config.baseUrl}/v1.0/users?`)).toBe(true);
      pages++;
    }
    expect(pages).toBe(Math.ceil(exported.length / 37));
    expect(seen).toEqual(exported);
  });

  it('returns the default property set without $select and 100 per page', async () => {
    const r = await graph(emu, token, '/users');
    const value = r.body['value'] as Record<string, unknown>[];
    expect(value).toHaveLength(100);
    expect(Object.keys(value[0] as object).sort()).toEqual([
      'businessPhones',
      'displayName',
      'givenName',
      'id',
      'jobTitle',
      'mail',
      'mobilePhone',
      'officeLocation',
      'preferredLanguage',
      'surname',
      'userPrincipalName',
    ]);
    expect(r.body['@odata.context']).toBe(`${emu.config.baseUrl}/v1.0/$metadata#users`);
  });

  it('rejects $top outside 1..999', async () => {
    for (const top of ['0', '1000']) {
      const r = await graph(emu, token, `/users?$top=${top}`);
      expect(r.status).toBe(400);
      expect((r.body['error'] as { code: string }).code).toBe('Request_UnsupportedQuery');
    }
  });

  it('401s missing, malformed and foreign tokens', async () => {
    const none = await fetch(`${emu.config.baseUrl}/v1.0/users`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string; message: string } }).error.message).toBe('Access token is empty.');
    const bad = await graph(emu, 'not-a-jwt', '/users');
    expect(bad.status).toBe(401);
    expect((bad.body['error'] as { code: string }).code).toBe('InvalidAuthenticationToken');
  });
});
