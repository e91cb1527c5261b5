import type { EmulatorCore } from '../core';
import type { Change, JsonObject } from '../types';
import type { Entity } from './directory';
import { DEFAULT_ACCESS_ROLE, makeGroup, makeUser } from './generate';
import { DEPARTMENTS, FIRST_NAMES, JOB_TITLES, LAST_NAMES } from './names';
import { TenantOps } from './ops';
import { Rng, deriveSeed } from './rng';

type Op = (ctx: Ctx) => Change | undefined;

interface Ctx {
  core: EmulatorCore;
  rng: Rng;
  ops: TenantOps;
}

function pick<T>(rng: Rng, list: readonly T[]): T | undefined {
  return list.length ? list[rng.int(list.length)] : undefined;
}

const memberUsers = (c: Ctx): readonly Entity[] => c.core.dir.users.list();

/** Realistic changes with their relative weights (joiners, leavers, renames, memberships, grants...). */
const OPS: [number, Op][] = [
  [25, ({ core, rng, ops }) => {
    const g = pick(rng, core.dir.groups.list());
    const u = pick(rng, memberUsers({ core, rng, ops }));
    if (!g || !u || core.dir.groupMembers.has(g.id, u.id)) return undefined;
    return ops.addGroupLink('members', g.id, u.id);
  }],
  [15, ({ core, rng, ops }) => {
    const g = pick(rng, core.dir.groups.list());
    if (!g) return undefined;
    const m = pick(rng, core.dir.groupMembers.get(g.id));
    return m ? ops.removeGroupLink('members', g.id, m) : undefined;
  }],
  [4, ({ core, rng, ops }) => {
    const g = pick(rng, core.dir.groups.list());
    const u = pick(rng, core.dir.users.list());
    if (!g || !u || u['userType'] !== 'Member') return undefined;
    return ops.addGroupLink('owners', g.id, u.id);
  }],
  [3, ({ core, rng, ops }) => {
    const g = pick(rng, core.dir.groups.list());
    if (!g) return undefined;
    const owners = core.dir.groupOwners.get(g.id);
    const o = owners.length > 1 ? pick(rng, owners) : undefined;
    return o ? ops.removeGroupLink('owners', g.id, o) : undefined;
  }],
  [8, ({ core, rng, ops }) => {
    const u = makeUser(rng, core.dir, 1_000_000 + rng.int(9_000_000), { guest: rng.chance(0.05), disabled: false, createdMs: Date.now() });
    return ops.createUser(u);
  }],
  [5, ({ core, rng, ops }) => {
    const u = pick(rng, core.dir.users.list());
    // Keep at least a handful of users so other changes stay possible.
    if (!u || core.dir.users.size < 10) return undefined;
    return ops.deleteUser(u.id);
  }],
  [7, ({ core, rng, ops }) => {
    const u = pick(rng, core.dir.users.list());
    if (!u) return undefined;
    const given = rng.pick(FIRST_NAMES);
    const sur = rng.pick(LAST_NAMES);
    return ops.updateObject('users', u.id, { displayName: `${given} ${sur}`, givenName: given, surname: sur });
  }],
  [4, ({ core, rng, ops }) => {
    const u = pick(rng, core.dir.users.list());
    return u ? ops.updateObject('users', u.id, { accountEnabled: !(u['accountEnabled'] as boolean) }) : undefined;
  }],
  [4, ({ core, rng, ops }) => {
    const u = pick(rng, core.dir.users.list());
    if (!u || u['userType'] !== 'Member') return undefined;
    return ops.updateObject('users', u.id, { department: rng.pick(DEPARTMENTS), jobTitle: rng.pick(JOB_TITLES) });
  }],
  [8, ({ core, rng, ops }) => {
    const apps = core.dir.servicePrincipals.list().filter((s) => s['servicePrincipalType'] === 'Application' && s.id !== core.graphSpId);
    const sp = pick(rng, apps);
    if (!sp) return undefined;
    const roles = ((sp['appRoles'] as JsonObject[]) ?? []).filter((r) => (r['allowedMemberTypes'] as string[]).includes('User'));
    const useGroup = rng.chance(0.15);
    const principal = useGroup ? pick(rng, core.dir.groups.list()) : pick(rng, core.dir.users.list());
    if (!principal) return undefined;
    const appRoleId = roles.length ? String(rng.pick(roles)['id']) : ((sp['appRoles'] as JsonObject[]).length ? undefined : DEFAULT_ACCESS_ROLE);
    if (!appRoleId) return undefined;
    const dup = core.dir.assignmentsByResource.get(sp.id).some((id) => {
      const a = core.dir.appRoleAssignments.get(id);
      return a?.['principalId'] === principal.id && a['appRoleId'] === appRoleId;
    });
    return dup ? undefined : ops.createAppRoleAssignment(sp, principal.id, appRoleId).change;
  }],
  [5, ({ core, rng, ops }) => {
    const a = pick(rng, core.dir.appRoleAssignments.list());
    // The emulator's own apps keep their Graph permissions.
    if (!a || a['resourceId'] === core.graphSpId) return undefined;
    return ops.deleteAppRoleAssignment(a.id);
  }],
  [2, ({ core, rng, ops }) => {
    const def = pick(rng, core.dir.roleDefinitions.list());
    const u = pick(rng, core.dir.users.list());
    if (!def || !u) return undefined;
    if (core.dir.roleAssignments.list().some((a) => a['roleDefinitionId'] === def.id && a['principalId'] === u.id && a['directoryScopeId'] === '/')) return undefined;
    return ops.createRoleAssignment(def.id, u.id, '/').change;
  }],
  [1.5, ({ core, rng, ops }) => {
    const a = pick(rng, core.dir.roleAssignments.list());
    return a ? ops.deleteRoleAssignment(a.id) : undefined;
  }],
  [1.5, ({ core, rng, ops }) => {
    const def = pick(rng, core.dir.roleDefinitions.list());
    const u = pick(rng, core.dir.users.list());
    if (!def || !u) return undefined;
    if (core.dir.roleEligibilitySchedules.list().some((s) => s['roleDefinitionId'] === def.id && s['principalId'] === u.id)) return undefined;
    const start = new Date().toISOString();
    return ops.createEligibility({ principalId: u.id, roleDefinitionId: def.id, directoryScopeId: '/',
      scheduleInfo: { startDateTime: start, recurrence: null, expiration: { type: 'afterDateTime',
        endDateTime: new Date(Date.now() + 180 * 86_400_000).toISOString(), duration: null } } }).change;
  }],
  [1, ({ core, rng, ops }) => {
    const s = pick(rng, core.dir.roleEligibilitySchedules.list());
    return s ? ops.deleteEligibility(s.id) : undefined;
  }],
  [2, ({ core, rng, ops }) => {
    const sp = pick(rng, core.dir.servicePrincipals.list().filter((s) => s['servicePrincipalType'] === 'Application'));
    const u = pick(rng, core.dir.users.list());
    if (!sp || !u || u['userType'] !== 'Member') return undefined;
    return ops.addSpOwner(sp.id, u.id);
  }],
  [1, ({ core, rng, ops }) => {
    const sp = pick(rng, core.dir.servicePrincipals.list());
    if (!sp) return undefined;
    const o = pick(rng, core.dir.spOwners.get(sp.id));
    return o ? ops.removeSpOwner(sp.id, o) : undefined;
  }],
  [1.5, ({ core, rng, ops }) => {
    const g = makeGroup(rng, 100_000 + rng.int(900_000), { synced: false, createdMs: Date.now() });
    const ch = ops.createGroup(g);
    const owner = pick(rng, core.dir.users.list().filter((u) => u['userType'] === 'Member').slice(0, 200));
    if (owner) ops.addGroupLink('owners', g.id, owner.id);
    return ch;
  }],
  [1, ({ core, rng, ops }) => {
    const g = pick(rng, core.dir.groups.list());
    if (!g || core.dir.groups.size < 5) return undefined;
    return ops.deleteGroup(g.id);
  }],
  [0.5, ({ core, rng, ops }) => {
    const g = pick(rng, core.dir.groups.list());
    return g ? ops.updateObject('groups', g.id, { displayName: `${String(g['displayName'])} (renamed)` }) : undefined;
  }],
];

const TOTAL = OPS.reduce((s, [w]) => s + w, 0);

/** N random changes through the same operations Graph writes use, so delta rounds and the export see them. */
export function mutateTenant(core: EmulatorCore, count: number, seed?: number): Change[] {
  const rng = seed === undefined ? core.rng : new Rng(deriveSeed(seed, 0x5eed));
  const ctx: Ctx = { core, rng, ops: seed === undefined ? core.ops : new TenantOps(core.dir, rng) };
  const out: Change[] = [];
  let guard = count * 50 + 100;
  while (out.length < count && guard-- > 0) {
    let r = rng.next() * TOTAL;
    let op = OPS[0]?.[1] as Op;
    for (const [w, f] of OPS) {
      if (r < w) { op = f; break; }
      r -= w;
    }
    const ch = op(ctx);
    if (ch) out.push(ch);
  }
  return out;
}
