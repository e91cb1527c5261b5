import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '@warden/graph-emulator';
import { GraphAuthError, GraphClient, GraphError, missingPermissions } from '../src';
import { clientFor, small } from './support';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await small();
});
afterAll(async () => emu.close());

describe('auth and permissions', () => {
  it('gets a token with a secret and reads the granted roles', async () => {
    const c = clientFor(emu, 'provisioning');
    const roles = await c.grantedPermissions();
    expect(roles).toEqual(expect.arrayContaining(emu.app('provisioning').roles));
    expect(missingPermissions(roles)).toEqual({ forSync: [], forProvisioning: [] });
  });

  it('gets a token with a certificate', async () => {
    const app = emu.app('provisioning');
    expect(app.certificatePem).toBeTruthy();
    const c = new GraphClient({
      tenantId: emu.config.tenantId,
      clientId: app.clientId,
      auth: { kind: 'certificate', certificatePem: app.certificatePem!, privateKeyPem: app.privateKeyPem! },
      graphBaseUrl: emu.config.baseUrl,
      authorityHost: emu.config.authorityHost,
    });
    const users = await c.get<{ value: unknown[] }>('/v1.0/users?$top=5');
    expect(users.value).toHaveLength(5);
  });

  it('turns a wrong secret into GraphAuthError with the identity platform code', async () => {
    const app = emu.app('provisioning');
    const c = new GraphClient({
      tenantId: emu.config.tenantId,
      clientId: app.clientId,
      auth: { kind: 'secret', clientSecret: 'wrong' },
      graphBaseUrl: emu.config.baseUrl,
      authorityHost: emu.config.authorityHost,
    });
    const err = await c.grantedPermissions().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphAuthError);
    expect((err as GraphAuthError).code).toBe('invalid_client');
  });

  it('reports what the readonly and unconsented apps miss', async () => {
    const ro = missingPermissions(await clientFor(emu, 'readonly').grantedPermissions());
    expect(ro.forSync).toEqual([]);
    expect(ro.forProvisioning).toContain('GroupMember.ReadWrite.All');
    const none = missingPermissions(await clientFor(emu, 'unconsented').grantedPermissions());
    expect(none.forSync).toContain('User.Read.All');
  });

  it('carries Graph code, status and request-id on errors', async () => {
    const err = await clientFor(emu)
      .get('/v1.0/users/00000000-0000-0000-0000-00000000dead')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphError);
    expect((err as GraphError).status).toBe(404);
    expect((err as GraphError).code).toBe('Request_ResourceNotFound');
    expect((err as GraphError).requestId).toBeTruthy();
  });
});

describe('paging', () => {
  it('reads every collection the product reads, each item once', async () => {
    const c = clientFor(emu);
    const truth = emu.exportTenant();
    const ids = async (path: string, headers?: Record<string, string>) => {
      const out: string[] = [];
      for await (const p of c.pages<{ id: string }>(path, { headers })) out.push(...p.items.map((i) => i.id));
      return out;
    };
    const users = await ids('/v1.0/users?$select=id,displayName&$top=37');
    expect(new Set(users).size).toBe(users.length);
    expect(users.sort()).toEqual(truth.users.map((u) => String(u.id)).sort());
    const groups = await ids('/v1.0/groups?$select=id');
    expect(groups.length).toBe(truth.groups.length);
    const sps = await ids('/v1.0/servicePrincipals?$select=id');
    expect(sps.length).toBe(truth.servicePrincipals.length);
    const big = [...truth.groups].sort((a, b) => b.members.length - a.members.length)[0]!;
    const members = await ids(`/v1.0/groups/${String(big.id)}/members?$select=id&$top=7`);
    expect(members.sort()).toEqual([...big.members].sort());
    expect((await ids('/v1.0/roleManagement/directory/roleAssignments')).length).toBe(truth.roleAssignments.length);
    expect((await ids('/v1.0/roleManagement/directory/roleEligibilitySchedules')).length).toBe(truth.roleEligibilitySchedules.length);
    const filtered = await ids('/v1.0/groups?$filter=onPremisesSyncEnabled ne true&$count=true&$select=id', {
      ConsistencyLevel: 'eventual',
    });
    expect(filtered.length).toBe(truth.groups.filter((g) => g.onPremisesSyncEnabled !== true).length);
  });

  it('restarts an enumeration whose page token expired without yielding duplicates', async () => {
    const c = clientFor(emu);
    const seen: string[] = [];
    let pageNo = 0;
    for await (const p of c.pages<{ id: string }>('/v1.0/users?$select=id&$top=50')) {
      seen.push(...p.items.map((i) => i.id));
      if (++pageNo === 2) {
        emu.updateSettings({ pageTokenTtlSeconds: 0.01 });
        await new Promise((r) => setTimeout(r, 30));
      } else if (pageNo === 3) emu.updateSettings({ pageTokenTtlSeconds: 3600 });
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(emu.exportTenant().users.length);
    // The restart re-read the first pages: more pages than the collection has.
    expect(pageNo).toBeGreaterThan(Math.ceil(seen.length / 50));
  });

  it('gives up with the expired-token error when page tokens expire faster than a page is read', async () => {
    const c = clientFor(emu);
    emu.updateSettings({ pageTokenTtlSeconds: 0.001, latencyMs: 20 });
    try {
      let pages = 0;
      const err = await (async () => {
        for await (const p of c.pages<{ id: string }>('/v1.0/users?$select=id&$top=50')) pages += p.items.length > 0 ? 1 : 0;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GraphError);
      expect((err as GraphError).code).toBe('Directory_ExpiredPageToken');
      expect(pages).toBe(1);
    } finally {
      emu.updateSettings({ pageTokenTtlSeconds: 3600, latencyMs: 0 });
    }
  });
});
