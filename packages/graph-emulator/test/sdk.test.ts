import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import {
  BatchRequestContent,
  BatchResponseContent,
  Client,
  PageIterator,
  RetryHandlerOptions,
  type PageCollection,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index';
import { decodeJwt, start } from './helpers';

/** Microsoft's own clients, unmodified, against the emulator. */
describe("Microsoft's clients", () => {
  let emu: RunningEmulator;
  let credential: ClientSecretCredential;
  let client: Client;

  beforeAll(async () => {
    emu = await start({ counts: { users: 230 } });
    const app = emu.app('provisioning');
    credential = new ClientSecretCredential(emu.config.tenantId, app.clientId, app.clientSecret, {
      authorityHost: emu.config.authorityHost,
      disableInstanceDiscovery: true,
    });
    const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: ['https://graph.microsoft.com/.default'] });
    client = Client.initWithMiddleware({
      authProvider,
      baseUrl: `${emu.config.baseUrl}/`,
      defaultVersion: 'v1.0',
      customHosts: new Set(['localhost']),
    });
  });
  afterAll(() => emu.close());

  it('@azure/identity ClientSecretCredential obtains a Graph token', async () => {
    const t = await credential.getToken('https://graph.microsoft.com/.default');
    const claims = decodeJwt(t.token);
    expect(claims['tid']).toBe(emu.config.tenantId);
    expect(claims['appid']).toBe(emu.app('provisioning').clientId);
    expect(claims['roles']).toContain('GroupMember.ReadWrite.All');
    expect(t.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });

  it('@azure/identity ClientCertificateCredential authenticates with the generated certificate', async () => {
    const app = emu.app('provisioning');
    const cred = new ClientCertificateCredential(
      emu.config.tenantId,
      app.clientId,
      { certificate: `${app.privateKeyPem ?? ''}\n${app.certificatePem ?? ''}` },
      { authorityHost: emu.config.authorityHost, disableInstanceDiscovery: true },
    );
    const t = await cred.getToken('https://graph.microsoft.com/.default');
    expect(decodeJwt(t.token)['appidacr']).toBe('2');
  });

  it('PageIterator walks every user', async () => {
    const first = (await client.api('/users').select('id,displayName').top(50).get()) as PageCollection;
    const ids: string[] = [];
    const it = new PageIterator(client, first, (u: { id: string }) => {
      ids.push(u.id);
      return true;
    });
    await it.iterate();
    expect(ids).toEqual(emu.exportTenant().users.map((u) => u['id']));
  });

  it('RetryHandler rides out 429s', async () => {
    // 2 RU per /users page, 10 per 10 s: a burst of 12 requests must be throttled and retried.
    emu.updateSettings({ throttle: { enabled: true, ruPer10s: 10, writesPer150s: 3000 } });
    emu.resetStats();
    try {
      const results = await Promise.all(
        Array.from(
          { length: 12 },
          () =>
            client
              .api('/users')
              .top(5)
              .middlewareOptions([new RetryHandlerOptions(1, 10)])
              .get() as Promise<{ value: unknown[] }>,
        ),
      );
      for (const r of results) expect(r.value).toHaveLength(5);
      const s = emu.stats();
      expect(s.throttled).toBeGreaterThan(0);
      expect(s.byRoute['GET /users']?.['200']).toBe(12);
    } finally {
      emu.updateSettings({ throttle: { enabled: true, ruPer10s: 5000, writesPer150s: 3000 } });
    }
  }, 60_000);

  it('BatchRequestContent round-trips', async () => {
    const ex = emu.exportTenant();
    const group = ex.groups.find((g) => g.members.length > 0 && g.members.some((m) => ex.users.some((u) => u['id'] === m)));
    if (!group) throw new Error('no group with user members');
    const user = ex.users.find((u) => !group.members.includes(String(u['id']))) as { id: string };
    const batch = new BatchRequestContent([
      { id: '1', request: new Request(`${emu.config.baseUrl}/v1.0/users?$select=id&$top=3`, { method: 'GET' }) },
      {
        id: '2',
        request: new Request(`${emu.config.baseUrl}/v1.0/groups/${group.id}/members/$ref`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` }),
        }),
        dependsOn: ['1'],
      },
      {
        id: '3',
        request: new Request(`${emu.config.baseUrl}/v1.0/groups/${group.id}/members/$ref`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` }),
        }),
        dependsOn: ['2'],
      },
    ]);
    const raw = await client.api('/$batch').post(await batch.getContent());
    const res = new BatchResponseContent(raw);
    expect(res.getResponseById('1').status).toBe(200);
    expect(((await res.getResponseById('1').json()) as { value: unknown[] }).value).toHaveLength(3);
    expect(res.getResponseById('2').status).toBe(204);
    expect(res.getResponseById('3').status).toBe(400);
    expect(emu.exportTenant().groups.find((g) => g.id === group.id)?.members).toContain(user.id);
  });
});
