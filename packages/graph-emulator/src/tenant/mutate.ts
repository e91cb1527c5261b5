import type { EmulatorCore } from '../core';
import type { Change, JsonObject } from '../types';
import type { Entity } from './directory';
import { roleAllowedOverAdministrativeUnit } from './admin-units';
import { roleAllowedOverApplication } from './applications';
import { DEFAULT_ACCESS_ROLE, makeGroup, makeUser } from './generate';
import { DEPARTMENTS, FIRST_NAMES, JOB_TITLES, LAST_NAMES } from './names';
import { TenantOps } from './ops';
import { Rng, deriveSeed } from './rng';

type Op = (ctx: Ctx) => Change | undefined;

/**
 * Id pools for random picks. Collection.list() is rebuilt after every change (O(n)), which made
 * 1,000 changes on an XL tenant take seconds; the pools are kept in step locally instead and
 * stale ids (removed by cascades) are skipped.
 */
class Pool {
  private readonly ids: string[];
  constructor(
    ids: Iterable<string>,
    private readonly lookup: (id: string) => Entity | undefined,
  ) {
    this.ids = [...ids];
  }
  pick(rng: Rng): Entity | undefined {
    for (let tries = 0; tries < 8 && this.ids.length; tries++) {
      const i = rng.int(this.ids.length);
      const e = this.lookup(this.ids[i] as string);
      if (e) return e;
      this.ids[i] = this.ids[this.ids.length - 1] as string;
      this.ids.pop();
    }
    return undefined;
  }
  add(id: string): void {
    this.ids.push(id);
  }
  get size(): number {
    return this.ids.length;
  }
}

interface Ctx {
  core: EmulatorCore;
  rng: Rng;
  ops: TenantOps;
  users: Pool;
  groups: Pool;
  assignments: Pool;
  roleAssignments: Pool;
  eligibility: Pool;
  apps: readonly Entity[];
  memberOwners: Entity[];
}

function pick<T>(rng: Rng, list: readonly T[]): T | undefined {
  return list.length ? list[rng.int(list.length)] : undefined;
}

/** A current member user other than `self` who does not report (transitively) to `self`. */
function pickManager(ctx: Ctx, self: string): string | null {
  const managers = ctx.core.dir.managers;
  for (let tries = 0; tries < 8; tries++) {
    const m = pick(ctx.rng, ctx.memberOwners);
    if (!m || m.id === self || !ctx.core.dir.users.has(m.id)) continue;
    let cur: string | undefined = m.id;
    let cycle = false;
    for (let depth = 0; cur !== undefined && depth < 64; depth++) {
      if (cur === self) {
        cycle = true;
        break;
      }
      cur = managers.get(cur);
    }
    if (!cycle) return m.id;
  }
  return null;
}

/** Realistic changes with their relative weights (joiners, leavers, renames, memberships, grants...). */
const OPS: [number, Op][] = [
  [
    25,
    ({ core, rng, ops, groups, users }) => {
      const g = groups.pick(rng);
      const u = users.pick(rng);
      if (!g || !u || core.dir.groupMembers.has(g.id, u.id)) return undefined;
      return ops.addGroupLink('members', g.id, u.id);
    },
  ],
  [
    15,
    ({ core, rng, ops, groups }) => {
      const g = groups.pick(rng);
      if (!g) return undefined;
      const m = pick(rng, core.dir.groupMembers.get(g.id));
      return m ? ops.removeGroupLink('members', g.id, m) : undefined;
    },
  ],
  [
    4,
    ({ rng, ops, groups, users }) => {
      const g = groups.pick(rng);
      const u = users.pick(rng);
      if (!g || !u || u['userType'] !== 'Member') return undefined;
      return ops.addGroupLink('owners', g.id, u.id);
    },
  ],
  [
    3,
    ({ core, rng, ops, groups }) => {
      const g = groups.pick(rng);
      if (!g) return undefined;
      const owners = core.dir.groupOwners.get(g.id);
      const o = owners.length > 1 ? pick(rng, owners) : undefined;
      return o ? ops.removeGroupLink('owners', g.id, o) : undefined;
    },
  ],
  [
    8,
    (ctx) => {
      const { core, rng, ops, users } = ctx;
      const u = makeUser(rng, core.dir, 1_000_000 + rng.int(9_000_000), {
        guest: rng.chance(0.05),
        disabled: false,
        createdMs: Date.now(),
      });
      users.add(u.id);
      const created = ops.createUser(u);
      // Most member joiners arrive with a manager (delta shows it as manager@delta on the new user).
      if (u['userType'] === 'Member' && rng.chance(0.8)) {
        const m = pickManager(ctx, u.id);
        if (m) ops.setManager(u.id, m);
      }
      return created;
    },
  ],
  [
    6,
    (ctx) => {
      // Reorganisation: a member gets another manager, or (rarely) none.
      const u = ctx.users.pick(ctx.rng);
      if (!u || u['userType'] !== 'Member') return undefined;
      return ctx.ops.setManager(u.id, ctx.rng.chance(0.15) ? null : pickManager(ctx, u.id));
    },
  ],
  [
    5,
    ({ core, rng, ops, users }) => {
      const u = users.pick(rng);
      // Keep at least a handful of users so other changes stay possible.
      if (!u || core.dir.users.size < 10) return undefined;
      return ops.deleteUser(u.id);
    },
  ],
  [
    7,
    ({ rng, ops, users }) => {
      const u = users.pick(rng);
      if (!u) return undefined;
      const given = rng.pick(FIRST_NAMES);
      const sur = rng.pick(LAST_NAMES);
      return ops.updateObject('users', u.id, { displayName: `${given} ${sur}`, givenName: given, surname: sur });
    },
  ],
  [
    4,
    ({ rng, ops, users }) => {
      const u = users.pick(rng);
      return u ? ops.updateObject('users', u.id, { accountEnabled: !(u['accountEnabled'] as boolean) }) : undefined;
    },
  ],
  [
    4,
    ({ rng, ops, users }) => {
      const u = users.pick(rng);
      if (!u || u['userType'] !== 'Member') return undefined;
      return ops.updateObject('users', u.id, { department: rng.pick(DEPARTMENTS), jobTitle: rng.pick(JOB_TITLES) });
    },
  ],
  [
    8,
    ({ core, rng, ops, apps, users, groups, assignments }) => {
      const sp = pick(rng, apps);
      if (!sp) return undefined;
      const roles = ((sp['appRoles'] as JsonObject[]) ?? []).filter((r) => (r['allowedMemberTypes'] as string[]).includes('User'));
      const useGroup = rng.chance(0.15);
      const principal = useGroup ? groups.pick(rng) : users.pick(rng);
      if (!principal) return undefined;
      const appRoleId = roles.length
        ? String(rng.pick(roles)['id'])
        : (sp['appRoles'] as JsonObject[]).length
          ? undefined
          : DEFAULT_ACCESS_ROLE;
      if (!appRoleId) return undefined;
      const dup = core.dir.assignmentsByResource.get(sp.id).some((id) => {
        const a = core.dir.appRoleAssignments.get(id);
        return a?.['principalId'] === principal.id && a['appRoleId'] === appRoleId;
      });
      if (dup) return undefined;
      const created = ops.createAppRoleAssignment(sp, principal.id, appRoleId);
      assignments.add(created.assignment.id);
      return created.change;
    },
  ],
  [
    5,
    ({ core, rng, ops, assignments }) => {
      const a = assignments.pick(rng);
      // The emulator's own apps keep their Graph permissions.
      if (!a || a['resourceId'] === core.graphSpId) return undefined;
      return ops.deleteAppRoleAssignment(a.id);
    },
  ],
  [
    2,
    ({ core, rng, ops, users, roleAssignments }) => {
      const def = pick(rng, core.dir.roleDefinitions.list());
      const u = users.pick(rng);
      if (!def || !u) return undefined;
      if (
        core.dir.roleAssignments
          .list()
          .some((a) => a['roleDefinitionId'] === def.id && a['principalId'] === u.id && a['directoryScopeId'] === '/')
      )
        return undefined;
      const created = ops.createRoleAssignment(def.id, u.id, '/');
      roleAssignments.add(created.assignment.id);
      return created.change;
    },
  ],
  [
    1.5,
    ({ rng, ops, roleAssignments }) => {
      const a = roleAssignments.pick(rng);
      return a ? ops.deleteRoleAssignment(a.id) : undefined;
    },
  ],
  // A role over one app registration (removed like the others).
  [
    0.5,
    ({ core, rng, ops, users, roleAssignments }) => {
      const def = pick(rng, core.dir.roleDefinitions.list().filter(roleAllowedOverApplication));
      const app = pick(rng, core.dir.applications.list());
      const u = users.pick(rng);
      if (!def || !app || !u) return undefined;
      const scope = `/${app.id}`;
      if (
        core.dir.roleAssignments
          .list()
          .some((a) => a['roleDefinitionId'] === def.id && a['principalId'] === u.id && a['directoryScopeId'] === scope)
      )
        return undefined;
      const created = ops.createRoleAssignment(def.id, u.id, scope);
      roleAssignments.add(created.assignment.id);
      return created.change;
    },
  ],
  // A role over an administrative unit (added here; removed by the deletion above or the next entry).
  [
    1,
    ({ core, rng, ops, users, roleAssignments }) => {
      const def = pick(rng, core.dir.roleDefinitions.list().filter(roleAllowedOverAdministrativeUnit));
      const au = pick(rng, core.dir.administrativeUnits.list());
      const u = users.pick(rng);
      if (!def || !au || !u) return undefined;
      const scope = `/administrativeUnits/${au.id}`;
      if (
        core.dir.roleAssignments
          .list()
          .some((a) => a['roleDefinitionId'] === def.id && a['principalId'] === u.id && a['directoryScopeId'] === scope)
      )
        return undefined;
      const created = ops.createRoleAssignment(def.id, u.id, scope);
      roleAssignments.add(created.assignment.id);
      return created.change;
    },
  ],
  [
    0.5,
    ({ core, rng, ops }) => {
      const a = pick(
        rng,
        core.dir.roleAssignments.list().filter((x) => x['directoryScopeId'] !== '/'),
      );
      return a ? ops.deleteRoleAssignment(a.id) : undefined;
    },
  ],
  [
    1.5,
    ({ core, rng, ops, users, eligibility }) => {
      const def = pick(rng, core.dir.roleDefinitions.list());
      const u = users.pick(rng);
      if (!def || !u) return undefined;
      if (core.dir.roleEligibilitySchedules.list().some((s) => s['roleDefinitionId'] === def.id && s['principalId'] === u.id))
        return undefined;
      const start = new Date().toISOString();
      const created = ops.createEligibility({
        principalId: u.id,
        roleDefinitionId: def.id,
        directoryScopeId: '/',
        scheduleInfo: {
          startDateTime: start,
          recurrence: null,
          expiration: { type: 'afterDateTime', endDateTime: new Date(Date.now() + 180 * 86_400_000).toISOString(), duration: null },
        },
      });
      eligibility.add(created.schedule.id);
      return created.change;
    },
  ],
  [
    1,
    ({ rng, ops, eligibility }) => {
      const s = eligibility.pick(rng);
      return s ? ops.deleteEligibility(s.id) : undefined;
    },
  ],
  [
    2,
    ({ rng, ops, apps, users }) => {
      const sp = pick(rng, apps);
      const u = users.pick(rng);
      if (!sp || !u || u['userType'] !== 'Member') return undefined;
      return ops.addSpOwner(sp.id, u.id);
    },
  ],
  [
    1,
    ({ core, rng, ops, apps }) => {
      const sp = pick(rng, apps);
      if (!sp) return undefined;
      const o = pick(rng, core.dir.spOwners.get(sp.id));
      return o ? ops.removeSpOwner(sp.id, o) : undefined;
    },
  ],
  [
    1.5,
    ({ core, rng, ops, groups, memberOwners }) => {
      const g = makeGroup(rng, 100_000 + rng.int(900_000), { synced: false, createdMs: Date.now() });
      const ch = ops.createGroup(g);
      groups.add(g.id);
      const owner = pick(rng, memberOwners);
      if (owner && core.dir.users.has(owner.id)) ops.addGroupLink('owners', g.id, owner.id);
      return ch;
    },
  ],
  [
    1,
    ({ core, rng, ops, groups }) => {
      const g = groups.pick(rng);
      if (!g || core.dir.groups.size < 5) return undefined;
      return ops.deleteGroup(g.id);
    },
  ],
  [
    0.5,
    ({ rng, ops, groups }) => {
      const g = groups.pick(rng);
      return g ? ops.updateObject('groups', g.id, { displayName: `${String(g['displayName'])} (renamed)` }) : undefined;
    },
  ],
];

const TOTAL = OPS.reduce((s, [w]) => s + w, 0);

/** N random changes through the same operations Graph writes use, so delta rounds and the export see them. */
export function mutateTenant(core: EmulatorCore, count: number, seed?: number): Change[] {
  const rng = seed === undefined ? core.rng : new Rng(deriveSeed(seed, 0x5eed));
  const d = core.dir;
  const ctx: Ctx = {
    core,
    rng,
    ops: seed === undefined ? core.ops : new TenantOps(d, rng),
    users: new Pool(
      d.users.list().map((u) => u.id),
      (id) => d.users.get(id),
    ),
    groups: new Pool(
      d.groups.list().map((g) => g.id),
      (id) => d.groups.get(id),
    ),
    assignments: new Pool(
      d.appRoleAssignments.list().map((a) => a.id),
      (id) => d.appRoleAssignments.get(id),
    ),
    roleAssignments: new Pool(
      d.roleAssignments.list().map((a) => a.id),
      (id) => d.roleAssignments.get(id),
    ),
    eligibility: new Pool(
      d.roleEligibilitySchedules.list().map((s) => s.id),
      (id) => d.roleEligibilitySchedules.get(id),
    ),
    apps: d.servicePrincipals.list().filter((s) => s['servicePrincipalType'] === 'Application' && s.id !== core.graphSpId),
    memberOwners: d.users
      .list()
      .slice(0, 500)
      .filter((u) => u['userType'] === 'Member'),
  };
  const out: Change[] = [];
  let guard = count * 50 + 100;
  while (out.length < count && guard-- > 0) {
    let r = rng.next() * TOTAL;
    let op = OPS[0]?.[1] as Op;
    for (const [w, f] of OPS) {
      if (r < w) {
        op = f;
        break;
      }
      r -= w;
    }
    const ch = op(ctx);
    if (ch) out.push(ch);
  }
  return out;
}
