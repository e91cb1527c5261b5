import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '@warden/graph-emulator';
import type { GraphClient } from '../src';
import { clientFor, small } from './support';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await small();
});
afterAll(async () => emu.close());

async function ids(c: GraphClient, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const p of c.pages<{ id: string }>(path)) out.push(...p.items.map((i) => i.id));
  return out;
}

const sorted = (xs: Iterable<unknown>) => [...xs].map(String).sort();

// The per-object collections the sync and provision workers read, each with a small $top so that
// every one of them is followed across several nextLinks.
describe('paging the per-object collections the workers read', () => {
  it('group owners, app assignments, app owners and role definitions, each item once', async () => {
    const c = clientFor(emu, 'readonly');
    const truth = emu.exportTenant();

    const owned = [...truth.groups].sort((a, b) => b.owners.length - a.owners.length)[0]!;
    expect(sorted(await ids(c, `/v1.0/groups/${String(owned.id)}/owners?$select=id&$top=2`))).toEqual(sorted(owned.owners));

    const bySp = new Map<string, string[]>();
    for (const a of truth.appRoleAssignments) bySp.set(String(a.resourceId), [...(bySp.get(String(a.resourceId)) ?? []), String(a.id)]);
    const [spId, assignments] = [...bySp].sort((a, b) => b[1].length - a[1].length)[0]!;
    expect(assignments.length).toBeGreaterThan(5);
    expect(sorted(await ids(c, `/v1.0/servicePrincipals/${spId}/appRoleAssignedTo?$select=id,principalId,appRoleId&$top=5`))).toEqual(
      sorted(assignments),
    );

    const spOwners = new Map<string, string[]>();
    for (const o of truth.servicePrincipalOwners)
      spOwners.set(o.servicePrincipalId, [...(spOwners.get(o.servicePrincipalId) ?? []), o.ownerId]);
    const [ownedSp, ownerIds] = [...spOwners].sort((a, b) => b[1].length - a[1].length)[0]!;
    expect(sorted(await ids(c, `/v1.0/servicePrincipals/${ownedSp}/owners?$select=id&$top=1`))).toEqual(sorted(ownerIds));

    const defs = await ids(c, '/v1.0/roleManagement/directory/roleDefinitions?$select=id,displayName,isBuiltIn');
    expect(sorted(defs)).toEqual(sorted(truth.roleDefinitions.map((d) => d.id)));
  });

  it('a saved resumeFrom continues where the crawl stopped', async () => {
    const c = clientFor(emu, 'readonly');
    const first: string[] = [];
    let resume: string | null = null;
    for await (const p of c.pages<{ id: string }>('/v1.0/users?$select=id&$top=30')) {
      first.push(...p.items.map((i) => i.id));
      resume = p.resumeFrom;
      break;
    }
    expect(resume).toMatch(/^https:\/\//);
    const rest: string[] = [];
    for await (const p of c.pages<{ id: string }>('/v1.0/users?$select=id&$top=30', { startAt: resume! }))
      rest.push(...p.items.map((i) => i.id));
    const all = [...first, ...rest];
    expect(new Set(all).size).toBe(all.length);
    expect(sorted(all)).toEqual(sorted(emu.exportTenant().users.map((u) => u.id)));
  });

  it('service principal delta round reads every service principal', async () => {
    const c = clientFor(emu, 'readonly');
    const round = c.delta<{ id: string; appId?: string }>('/v1.0/servicePrincipals/delta?$select=id,appId,displayName');
    const seen: string[] = [];
    let n = await round.next();
    while (!n.done) {
      for (const ch of n.value.changes) if (ch.kind === 'upsert') seen.push(ch.id);
      n = await round.next();
    }
    expect(n.value.kind).toBe('complete');
    expect(sorted(new Set(seen))).toEqual(sorted(emu.exportTenant().servicePrincipals.map((s) => s.id)));
  });
});

describe('a collection crawled as ranges at once', () => {
  it('yields every user exactly once, keeps a caller filter, and stops cleanly', async () => {
    const c = clientFor(emu, 'readonly');
    const truth = emu.exportTenant().users;
    const all: string[] = [];
    for await (const p of c.pagesInParallel<{ id: string }>('/v1.0/users?$select=id,userPrincipalName&$top=7', {
      by: 'userPrincipalName',
      // 'k' twice and an unsorted list: bounds are de-duplicated and sorted.
      bounds: ['t', 'd', 'k', 'k', 'p'],
    })) {
      expect(p.resumeFrom).toBeNull();
      all.push(...p.items.map((i) => i.id));
    }
    expect(all).toHaveLength(truth.length);
    expect(sorted(all)).toEqual(sorted(truth.map((u) => u.id)));
    // Ranges rather than chains: five ranges of 7-user pages need more requests than one chain, and
    // they ran concurrently (the route's counter saw them all).
    expect(c.stats().byRoute['GET /users']!.requests).toBeGreaterThan(Math.ceil(truth.length / 7));

    const guests: string[] = [];
    for await (const p of c.pagesInParallel<{ id: string }>("/v1.0/users?$select=id&$filter=userType eq 'Guest'", {
      by: 'userPrincipalName',
      bounds: ['m'],
    }))
      guests.push(...p.items.map((i) => i.id));
    expect(sorted(guests)).toEqual(sorted(truth.filter((u) => u['userType'] === 'Guest').map((u) => u.id)));

    let pages = 0;
    for await (const p of c.pagesInParallel<{ id: string }>('/v1.0/users?$select=id&$top=5', { by: 'userPrincipalName', bounds: ['m'] })) {
      expect(p.items.length).toBeGreaterThan(0);
      if (++pages === 2) break;
    }
    expect(pages).toBe(2);
  });
});
