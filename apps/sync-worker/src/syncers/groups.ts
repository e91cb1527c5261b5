import type { DeltaPage, LinkChange } from '@warden/graph-core';
import { entitlementKey, loadGroupParents } from '@warden/access-model';
import { bool, principalKindOfGraphType, searchText, str, type EntitlementInput, type ResourceInput } from '../model';
import type { RunSession } from '../runs/session';
import { unmarkRun } from '../writers/marks';
import type { WriteBuffer } from '../writers/buffer';
import { existingResourceIds } from '../writers/resources';
import { countObjects } from './count';
import { bump, runDeltaStream, type PassState } from './delta-stream';
import { idFilter } from './partitioned-rounds';

export interface GraphGroup {
  id: string;
  displayName?: string | null;
  description?: string | null;
  mail?: string | null;
  mailEnabled?: boolean | null;
  securityEnabled?: boolean | null;
  groupTypes?: string[] | null;
  membershipRule?: string | null;
  onPremisesSyncEnabled?: boolean | null;
  isAssignableToRole?: boolean | null;
  createdDateTime?: string | null;
}

export const GROUP_SELECT = [
  'id',
  'displayName',
  'description',
  'mail',
  'mailEnabled',
  'securityEnabled',
  'groupTypes',
  'onPremisesSyncEnabled',
  'isAssignableToRole',
  'createdDateTime',
];

export type GroupType = 'security' | 'microsoft365' | 'dynamic' | 'mailEnabledSecurity' | 'distribution';

export function groupTypeOf(g: Partial<GraphGroup>): GroupType {
  const types = g.groupTypes ?? [];
  if (types.includes('DynamicMembership')) return 'dynamic';
  if (types.includes('Unified')) return 'microsoft365';
  if (g.mailEnabled === true) return g.securityEnabled === true ? 'mailEnabledSecurity' : 'distribution';
  return 'security';
}

export function mapGroup(g: Partial<GraphGroup> & { id: string }): { resource: ResourceInput; entitlements: EntitlementInput[] } {
  const groupTypes = Array.isArray(g.groupTypes) ? g.groupTypes.filter((t): t is string => typeof t === 'string') : [];
  const groupType = groupTypeOf({ ...g, groupTypes });
  const displayName = str(g.displayName) ?? '';
  const profile = {
    groupType,
    groupTypes,
    securityEnabled: bool(g.securityEnabled),
    mailEnabled: bool(g.mailEnabled),
    onPremisesSyncEnabled: bool(g.onPremisesSyncEnabled),
    isAssignableToRole: bool(g.isAssignableToRole),
    mail: str(g.mail),
    description: str(g.description),
    createdDateTime: str(g.createdDateTime),
  };
  const unified = groupTypes.includes('Unified');
  const synced = g.onPremisesSyncEnabled === true;
  // Graph cannot write memberships of these: Exchange owns mail-enabled security groups and
  // distribution lists, on-premises AD owns synced groups, the rule owns dynamic membership.
  const mailNonUnified = g.mailEnabled === true && !unified;
  const metadata = { unifiedGroup: unified, roleAssignable: g.isAssignableToRole === true };
  const ent = (slug: 'member' | 'owner', name: string, grantable: boolean): EntitlementInput => ({
    key: entitlementKey('GROUP', g.id, slug),
    resourceExternalId: g.id,
    resourceType: 'GROUP',
    slug,
    displayName: name,
    grantable,
    appRoleId: null,
    metadata,
  });
  return {
    resource: { type: 'GROUP', externalId: g.id, displayName, profile, searchText: searchText(displayName, profile.mail) },
    entitlements: [
      ent('member', `Member of ${displayName}`, !(synced || mailNonUnified || groupType === 'dynamic')),
      ent('owner', `Owner of ${displayName}`, !(synced || mailNonUnified)),
    ],
  };
}

/** Groups delta with members and owners inline: the tracked round, and every filtered round of a full pass. */
export const GROUPS_DELTA_PATH = `/v1.0/groups/delta?$select=${[...GROUP_SELECT, 'members', 'owners'].join(',')}`;
/** What a full pass lists first: the ids to read, and whether a group is synced from on-premises AD (skipAdGroups). */
export const GROUPS_LIST_PATH = '/v1.0/groups?$select=id,onPremisesSyncEnabled&$top=999';
/** Graph filters a groups delta on at most 50 ids (group-delta.md). */
export const GROUP_CHUNK_SIZE = 50;
/** Filtered rounds read at once: with 1 RU a page, 12 chains stay far below the tenant's budget (8,000 RU per 10 s at L). */
export const GROUP_ROUNDS_AT_ONCE = 12;

/** A filtered round over some groups, members and owners inline. */
export function groupsRoundPath(ids: readonly string[]): string {
  return `${GROUPS_DELTA_PATH}&$filter=${idFilter(ids)}`;
}

/**
 * Groups with members and owners inline (`$select=…,members,owners` on groups delta): one stream
 * gives resources, entitlements and membership/ownership grants, with no per-group calls.
 * Incremental runs follow the stored deltaLink. A full pass takes a `latest` deltaLink with the same
 * `$select` (the next incremental run starts there), lists the group ids, and reads them as filtered
 * rounds of 50 groups, 12 at a time.
 */
export async function syncGroups(s: RunSession): Promise<void> {
  await runDeltaStream<GraphGroup>(s, {
    stream: 'groups',
    label: 'groups',
    initialPath: GROUPS_DELTA_PATH,
    count: () => countObjects(s, 'groups'),
    unmark: () => unmarkRun(s.db, s.connectorId, s.runId, 'groups'),
    apply: (page, pass, out) => applyGroupsPage(s, page, pass, out),
    coalescePages: true,
    partitioned: {
      listIds: (pass) => listGroupIds(s, pass),
      roundPath: groupsRoundPath,
      chunkSize: Math.min(s.groupChunkSize ?? GROUP_CHUNK_SIZE, GROUP_CHUNK_SIZE),
      concurrency: s.groupRoundsAtOnce ?? GROUP_ROUNDS_AT_ONCE,
    },
  });
}

/** The groups a full pass reads; with skipAdGroups, on-premises-synced ones are counted and left out (their members are never read). */
async function listGroupIds(s: RunSession, pass: PassState): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of s.graph.pages<{ id: string; onPremisesSyncEnabled?: boolean | null }>(GROUPS_LIST_PATH, { signal: s.signal })) {
    for (const g of page.items) {
      if (s.skipAdGroups && g.onPremisesSyncEnabled === true) bump(pass.counters, 'skippedOnPremisesGroups');
      else ids.push(g.id);
    }
  }
  return ids;
}

/**
 * The groups that are members of some group when an incremental pass starts. Only a membership in
 * one of those (or in a group whose own memberships change in this run) can make or undo inherited
 * grants, so only such members become closure roots: at L every changed member had been one, and
 * the closure read each root's every grant (~4,000 heap pages, ~120 ms of each incremental run) to
 * find the few memberships in nested groups. A member of a group that lost its parents in an
 * earlier page or attempt is still covered: that group is itself a root (kept in the checkpoint),
 * and its membership in the parent is deleted only when the run finishes.
 */
const nestedAtStart = new WeakMap<PassState, Promise<Set<string>>>();

/** The same group-in-group edges the closure reads (`loadGroupParents`): a group with parents is nested. */
function nestedGroups(s: RunSession, pass: PassState): Promise<Set<string>> {
  let nested = nestedAtStart.get(pass);
  if (!nested) {
    nested = loadGroupParents(s.db, s.connectorId).then((parents) => new Set(parents.keys()));
    nestedAtStart.set(pass, nested);
  }
  return nested;
}

interface PendingLinks {
  groupId: string;
  slug: 'member' | 'owner';
  links: LinkChange[];
}

async function applyGroupsPage(s: RunSession, page: DeltaPage<GraphGroup>, pass: PassState, out: WriteBuffer): Promise<void> {
  const links: PendingLinks[] = [];
  const linkOnly = new Set<string>();
  const withProps = new Set<string>();
  for (const c of page.changes) {
    if (c.kind === 'removed') {
      pass.pending.resource(c.id, pass.startedAt);
      bump(pass.counters, 'removed');
      continue;
    }
    const o = c.object;
    const hasProps = Object.keys(o).some((k) => k !== 'id' && !k.includes('@'));
    if (s.skipAdGroups && o.onPremisesSyncEnabled === true) {
      // Synced from on-premises AD and the connector skips those: not part of the model, nor
      // are its grants; rows left from before the setting changed go when the run succeeds.
      if (!pass.full) pass.pending.resource(c.id, pass.startedAt);
      bump(pass.counters, 'skippedOnPremisesGroups');
      continue;
    }
    if (hasProps) {
      const m = mapGroup(o);
      out.resources.push(m.resource);
      out.entitlements.push(...m.entitlements);
      pass.pending.keepResource(c.id);
      pass.seen.add(c.id);
      withProps.add(c.id);
    } else {
      linkOnly.add(c.id);
    }
    if (c.members?.length) links.push({ groupId: c.id, slug: 'member', links: c.members });
    if (c.owners?.length) links.push({ groupId: c.id, slug: 'owner', links: c.owners });
  }
  // A change with links but no properties names a group we must already know (and not skip):
  // written earlier in this pass, or stored before it.
  const unknown = [...linkOnly].filter((id) => !pass.seen.has(id));
  const known = unknown.length ? await existingResourceIds(s.db, s.connectorId, 'GROUP', unknown) : new Set<string>();
  for (const id of linkOnly) if (pass.seen.has(id)) known.add(id);

  const nested = pass.full || !links.some((l) => l.slug === 'member') ? null : await nestedGroups(s, pass);
  for (const l of links) {
    if (!withProps.has(l.groupId) && !known.has(l.groupId)) continue;
    const key = entitlementKey('GROUP', l.groupId, l.slug);
    const inNested = nested !== null && (nested.has(l.groupId) || pass.roots.has(l.groupId));
    for (const link of l.links) {
      const kind = principalKindOfGraphType(link.type);
      // A group (or a link whose type Graph left out) as member changes nesting: always a root.
      if (nested !== null && l.slug === 'member') {
        if (inNested || kind === 'GROUP' || kind === null) pass.roots.add(link.id);
        else bump(pass.counters, 'closureRootsSkipped');
      }
      if (link.removed) {
        pass.pending.grant(key, link.id, pass.startedAt);
        continue;
      }
      if (!kind) {
        // Devices and org contacts can be members; they are not principals of the model.
        bump(pass.counters, 'skippedPrincipals');
        continue;
      }
      pass.pending.keepGrant(key, link.id);
      out.grants.push({ entitlementKey: key, principalExternalId: link.id, principalKind: kind, graphAssignmentId: null, expiresAt: null });
    }
  }
}
