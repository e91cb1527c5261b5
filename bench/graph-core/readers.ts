import { ClientSecretCredential } from '@azure/identity';
import { Client, PageIterator, type PageCollection } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { DEFAULT_NAME_BOUNDS, GraphClient, type BatchRequest } from '@warden/graph-core';
import type { EmulatorApp, EmulatorConfig } from '@warden/graph-emulator';

/** What one reader saw: the same workload for graph-core and the SDK baseline. */
export interface ReadResult {
  users: number;
  groups: number;
  memberships: number;
  /** Member reads that failed for good (the SDK gives up after 3 retries). */
  failures: number;
  wallMs: number;
  /** HTTP round trips as the client counted them (graph-core only; the SDK has no counter). */
  httpRequests?: number;
  /** When the user crawl (a chain of nextLinks) and the member reads finished, ms from the start (graph-core only). */
  phases?: { usersDoneMs: number; firstMemberPagesDoneMs: number; groupsDoneMs: number };
}

const USER_SELECT = '/users?$select=id,displayName,userPrincipalName,mail,accountEnabled,userType,department,jobTitle&$top=999';
const GROUP_SELECT = '/groups?$select=id,displayName,mail,mailEnabled,securityEnabled,groupTypes,onPremisesSyncEnabled&$top=999';
const membersOf = (id: string): string => `/groups/${id}/members?$select=id&$top=999`;

/**
 * graph-core: users paged as six userPrincipalName ranges at once, groups paged alongside, and each
 * page of groups has the first member page of its groups read through $batch (20
 * GETs per round trip) as soon as it arrives; groups larger than one page continue with
 * pages(startAt). Everything shares the one governor, which keeps the total under
 * the budget — the caller just starts the work.
 */
export async function readWithGraphCore(
  config: EmulatorConfig,
  app: EmulatorApp,
  ruPer10s: number,
  repeat = 1,
  parallel = 1,
): Promise<ReadResult> {
  const client = new GraphClient({
    tenantId: config.tenantId,
    clientId: app.clientId,
    auth: { kind: 'secret', clientSecret: app.clientSecret },
    graphBaseUrl: config.baseUrl,
    authorityHost: config.authorityHost,
    priority: 'Low',
    budget: { ruPer10s },
  });
  await client.getAccessToken();
  const t0 = performance.now();
  let users = 0;
  let groups = 0;
  let memberships = 0;
  let failures = 0;

  const readMembers = async (groupIds: string[]): Promise<void> => {
    const requests: BatchRequest[] = groupIds.map((id) => ({ method: 'GET', url: membersOf(id) }));
    const more: string[] = [];
    const answers = await client.batch(requests);
    firstMemberPagesDoneMs = Math.max(firstMemberPagesDoneMs, performance.now() - t0);
    for (const r of answers) {
      if (r.status !== 200) {
        failures++;
        continue;
      }
      const body = r.body as { value?: unknown[]; '@odata.nextLink'?: string };
      memberships += body.value?.length ?? 0;
      if (body['@odata.nextLink']) more.push(body['@odata.nextLink']);
    }
    await Promise.all(
      more.map(async (startAt) => {
        for await (const p of client.pages<{ id: string }>(startAt, { startAt })) memberships += p.items.length;
      }),
    );
  };
  let usersDoneMs = 0;
  let groupsDoneMs = 0;
  let firstMemberPagesDoneMs = 0;
  const readUsers = async (): Promise<void> => {
    // Six ranges of userPrincipalName crawled at once: one chain of 51 nextLinks would be the long pole.
    for await (const p of client.pagesInParallel<{ id: string }>(`/v1.0${USER_SELECT}`, {
      by: 'userPrincipalName',
      bounds: DEFAULT_NAME_BOUNDS,
    }))
      users += p.items.length;
    usersDoneMs = performance.now() - t0;
  };
  const readGroups = async (): Promise<void> => {
    const pending: Promise<void>[] = [];
    // One chain: as six ranges (tried 2026-12-01) the groups' pages came at once and their member
    // packs crowded the box, 19.7–28.7 s against 14.6–19.7 s alternating runs at load 19–28.
    for await (const p of client.pages<{ id: string }>(`/v1.0${GROUP_SELECT}`)) {
      groups += p.items.length;
      const member = readMembers(p.items.map((g) => g.id));
      member.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
      pending.push(member);
    }
    await Promise.all(pending);
    groupsDoneMs = performance.now() - t0;
  };
  for (let i = 0; i < repeat; i++) await Promise.all(Array.from({ length: parallel }, () => Promise.all([readUsers(), readGroups()])));
  return {
    users,
    groups,
    memberships,
    failures,
    wallMs: performance.now() - t0,
    httpRequests: client.stats().total.requests,
    phases: {
      usersDoneMs: Math.round(usersDoneMs),
      firstMemberPagesDoneMs: Math.round(firstMemberPagesDoneMs),
      groupsDoneMs: Math.round(groupsDoneMs),
    },
  };
}

/**
 * The baseline: the SDK's default client (Client.initWithMiddleware with its default chain, so its
 * RetryHandler: 3 retries) and PageIterator; member reads run `concurrency` groups at a time, since a
 * strictly sequential loop would mostly measure latency, not the client.
 */
export async function readWithSdk(
  config: EmulatorConfig,
  app: EmulatorApp,
  concurrency: number,
  repeat = 1,
  parallel = 1,
): Promise<ReadResult> {
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
  await credential.getToken('https://graph.microsoft.com/.default');
  const count = async (path: string, onItem?: (item: { id: string }) => void): Promise<number> => {
    let n = 0;
    const first = (await client.api(path).get()) as PageCollection;
    await new PageIterator(client, first, (item) => {
      n++;
      onItem?.(item as { id: string });
      return true;
    }).iterate();
    return n;
  };
  const t0 = performance.now();
  let users = 0;
  let groups = 0;
  let memberships = 0;
  let failures = 0;
  const readOnce = async (): Promise<void> => {
    const u = await count(USER_SELECT);
    users += u;
    const groupIds: string[] = [];
    await count(GROUP_SELECT, (g) => groupIds.push(g.id));
    groups += groupIds.length;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.max(1, concurrency) }, async () => {
        while (next < groupIds.length) {
          const id = groupIds[next++]!;
          try {
            // Read first, then add: `x += await …` would add to a stale x.
            const n = await count(membersOf(id));
            memberships += n;
          } catch {
            failures++;
          }
        }
      }),
    );
  };
  for (let round = 0; round < repeat; round++) await Promise.all(Array.from({ length: parallel }, readOnce));
  return { users, groups, memberships, failures, wallMs: performance.now() - t0 };
}
