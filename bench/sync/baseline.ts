import { createHash } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { Client, PageIterator, type PageCollection } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import type { EmulatorApp, EmulatorConfig } from '@warden/graph-emulator';

/**
 * How per-object connectors sync: the SDK's default client (Client.initWithMiddleware, its default
 * retry middleware) and PageIterator, one collection after another — users, groups, then members
 * and owners of each group, service principals, then assignments and owners of each app, then
 * directory roles. Reads only: it writes nothing to Postgres (so its time is a lower bound).
 * `sample` caps the per-group and per-app loops to a seeded uniform random sample (`sampleSeed`;
 * the first groups of the listing include the tenant's three largest, which would overstate the
 * cost); the result then extrapolates those phases linearly from the sample and says so.
 */
export interface BaselineResult {
  wallMs: number;
  requests: number;
  objects: number;
  sampled: boolean;
  measured: { wallMs: number; requests: number; groupsRead: number; appsRead: number };
  /** How the sampled loops chose their objects (null when nothing was sampled). */
  sampling: { method: 'seeded uniform random'; seed: number } | null;
  phases: Record<string, { ms: number; requests: number; items: number; sampledOf?: number }>;
}

/** `graphRequests` reads the emulator's count of Graph HTTP requests (the SDK gives no counter). */
export async function runBaseline(
  config: EmulatorConfig,
  app: EmulatorApp,
  opts: { sample?: number; sampleSeed?: number; graphRequests: () => Promise<number> },
): Promise<BaselineResult> {
  const credential = new ClientSecretCredential(config.tenantId, app.clientId, app.clientSecret, {
    authorityHost: config.authorityHost,
    disableInstanceDiscovery: true,
  });
  const client = Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: ['https://graph.microsoft.com/.default'] }),
    baseUrl: `${config.baseUrl}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(config.baseUrl).hostname]),
  });
  const listAll = async (path: string): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    const first = (await client.api(path).get()) as PageCollection;
    await new PageIterator(client, first, (item) => {
      items.push(item as Record<string, unknown>);
      return true;
    }).iterate();
    return items;
  };

  const phases: BaselineResult['phases'] = {};
  let objects = 0;
  const phase = async <T>(name: string, fn: () => Promise<{ items: number; value: T; sampledOf?: number }>): Promise<T> => {
    const r0 = await opts.graphRequests();
    const t0 = performance.now();
    const r = await fn();
    const ms = performance.now() - t0;
    phases[name] = {
      ms,
      requests: (await opts.graphRequests()) - r0,
      items: r.items,
      ...(r.sampledOf !== undefined ? { sampledOf: r.sampledOf } : {}),
    };
    objects += r.items;
    return r.value;
  };
  const t0 = performance.now();
  const req0 = await opts.graphRequests();
  await phase('users', async () => {
    const u = await listAll(
      '/users?$select=id,displayName,userPrincipalName,mail,accountEnabled,userType,department,jobTitle,employeeId,createdDateTime&$top=999',
    );
    return { items: u.length, value: null };
  });
  const groups = await phase('groups', async () => {
    const g = await listAll(
      '/groups?$select=id,displayName,mail,mailEnabled,securityEnabled,groupTypes,onPremisesSyncEnabled,isAssignableToRole&$top=999',
    );
    return { items: g.length, value: g };
  });
  const seed = opts.sampleSeed ?? 1;
  const groupSample = opts.sample ? randomSample(groups, opts.sample, seed) : groups;
  await phase('groupMembersAndOwners', async () => {
    let n = 0;
    for (const g of groupSample) {
      n += (await listAll(`/groups/${String(g['id'])}/members?$select=id&$top=999`)).length;
      n += (await listAll(`/groups/${String(g['id'])}/owners?$select=id&$top=999`)).length;
    }
    return { items: n, value: null, ...(groupSample.length < groups.length ? { sampledOf: groups.length } : {}) };
  });
  const sps = await phase('servicePrincipals', async () => {
    const s = await listAll('/servicePrincipals?$select=id,appId,displayName,servicePrincipalType,accountEnabled,appRoles&$top=999');
    return { items: s.length, value: s };
  });
  const apps = sps.filter((s) => s['servicePrincipalType'] === 'Application');
  const appSample = opts.sample
    ? randomSample(apps, Math.max(1, Math.round((opts.sample * apps.length) / Math.max(1, groups.length))), seed)
    : apps;
  await phase('appAssignmentsAndOwners', async () => {
    let n = 0;
    for (const a of appSample) {
      n += (await listAll(`/servicePrincipals/${String(a['id'])}/appRoleAssignedTo?$top=999`)).length;
      n += (await listAll(`/servicePrincipals/${String(a['id'])}/owners?$select=id&$top=999`)).length;
    }
    return { items: n, value: null, ...(appSample.length < apps.length ? { sampledOf: apps.length } : {}) };
  });
  await phase('directoryRoles', async () => {
    const d = await listAll('/roleManagement/directory/roleDefinitions?$top=999');
    const a = await listAll('/roleManagement/directory/roleAssignments?$top=999');
    const e = await listAll('/roleManagement/directory/roleEligibilitySchedules?$top=999');
    return { items: d.length + a.length + e.length, value: null };
  });
  const measuredMs = performance.now() - t0;
  const measuredRequests = (await opts.graphRequests()) - req0;

  // Extrapolate the sampled per-object loops to the whole tenant.
  let wallMs = 0;
  let total = 0;
  for (const p of Object.values(phases)) {
    const read =
      p === phases['groupMembersAndOwners'] ? groupSample.length : p === phases['appAssignmentsAndOwners'] ? appSample.length : 0;
    const factor = p.sampledOf && read ? p.sampledOf / read : 1;
    wallMs += p.ms * factor;
    total += p.requests * factor;
  }
  const sampled = groupSample.length < groups.length || appSample.length < apps.length;
  return {
    wallMs,
    requests: Math.round(total),
    objects,
    sampled,
    sampling: sampled ? { method: 'seeded uniform random', seed } : null,
    measured: { wallMs: measuredMs, requests: measuredRequests, groupsRead: groupSample.length, appsRead: appSample.length },
    phases,
  };
}

/**
 * `n` items drawn uniformly at random, reproducibly: the items with the smallest sha256 of
 * `seed:id` (a hash ranking is a uniform random permutation that the seed alone fixes).
 */
export function randomSample<T extends Record<string, unknown>>(items: readonly T[], n: number, seed: number): T[] {
  if (n >= items.length) return [...items];
  const rank = (item: T) =>
    createHash('sha256')
      .update(`${seed}:${String(item['id'])}`)
      .digest('hex');
  return items
    .map((item) => ({ item, r: rank(item) }))
    .sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : 0))
    .slice(0, n)
    .map((x) => x.item);
}
