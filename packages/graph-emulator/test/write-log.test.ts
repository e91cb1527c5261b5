import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index';
import { getToken, graph, start } from './helpers';

describe('write log and dropped responses', () => {
  let emu: RunningEmulator;
  let token: string;
  let groupId: string;
  let userId: string;
  beforeAll(async () => {
    emu = await start({ seed: 23 });
    token = await getToken(emu);
    const t = emu.exportTenant();
    groupId = t.groups.find((g) => !g['isAssignableToRole'])!['id'] as string;
    const members = new Set((t.groups.find((g) => g['id'] === groupId)!['members'] as string[] | undefined) ?? []);
    userId = t.users.find((u) => !members.has(u['id'] as string))!['id'] as string;
  });
  afterAll(() => emu.close());

  const add = () =>
    graph(emu, token, `/groups/${groupId}/members/$ref`, {
      method: 'POST',
      body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${userId}` }),
    });

  it('records every write with its answer; reads are not logged; a stats reset clears it', async () => {
    emu.resetStats();
    expect((await add()).status).toBe(204);
    expect((await add()).status).toBe(400);
    expect((await graph(emu, token, `/groups/${groupId}/members`)).status).toBe(200);
    const log = emu.writeLog();
    expect(log.map((w) => [w.method, w.path, w.status])).toEqual([
      ['POST', `/groups/${groupId}/members/$ref`, 204],
      ['POST', `/groups/${groupId}/members/$ref`, 400],
    ]);
    expect(JSON.parse(log[0]!.body!)).toEqual({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${userId}` });
    expect(log[0]!.appId).toBe(emu.app('provisioning').clientId);
    const r = await fetch(`${emu.config.baseUrl}/_emulator/writes`);
    expect(((await r.json()) as { writes: unknown[] }).writes).toHaveLength(2);
    emu.resetStats();
    expect(emu.writeLog()).toEqual([]);
  });

  it('dropRate applies the write and then cuts the response', async () => {
    emu.updateSettings({ dropRate: 1 });
    const del = await graph(emu, token, `/groups/${groupId}/members/${userId}/$ref`, { method: 'DELETE' }).catch((err: unknown) => err);
    emu.updateSettings({ dropRate: 0 });
    expect(del).toBeInstanceOf(Error);
    expect(emu.writeLog().map((w) => [w.method, w.status])).toEqual([['DELETE', 204]]);
    expect(emu.stats().connectionsDropped).toBe(1);
    // The member is gone although the client never saw the answer.
    expect((await graph(emu, token, `/groups/${groupId}/members/${userId}/$ref`, { method: 'DELETE' })).status).toBe(404);
  });

  it('behind a proxy (linkBaseUrl set) it also issues and accepts tokens for that origin', async () => {
    const alias = 'https://localhost:1';
    const ask = async () => {
      const r = await fetch(`${emu.config.baseUrl}/${emu.config.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: emu.app('provisioning').clientId,
          client_secret: emu.app('provisioning').clientSecret,
          scope: `${alias}/.default`,
        }),
      });
      return { status: r.status, body: (await r.json()) as { access_token?: string } };
    };
    expect((await ask()).status).toBe(400);
    emu.updateSettings({ linkBaseUrl: alias });
    try {
      const t = await ask();
      expect(t.status).toBe(200);
      expect((await graph(emu, t.body.access_token!, `/groups/${groupId}`)).status).toBe(200);
    } finally {
      emu.updateSettings({ linkBaseUrl: null });
    }
  });
});
