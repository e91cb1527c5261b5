import type { Change, JsonObject } from '../types';
import type { Directory, Entity, ObjectType, RemovedReason } from './directory';
import { addRoleAssignment, ensureDirectoryRole, makeAssignment } from './generate';
import type { Rng } from './rng';

/**
 * Every state change of the tenant goes through here, so reads, the export and the delta change logs
 * always agree. Callers validate (and produce Graph's errors) before calling.
 */
export class TenantOps {
  constructor(
    private readonly dir: Directory,
    private readonly rng: Rng,
  ) {}

  private linkLog(groupId: string, rel: 'members' | 'owners', target: string, targetType: ObjectType | undefined): void {
    this.dir.log('groups', { id: groupId, op: 'link', rel, target, ...(targetType ? { targetType } : {}) });
  }

  addGroupLink(rel: 'members' | 'owners', groupId: string, target: string): Change | undefined {
    const table = rel === 'members' ? this.dir.groupMembers : this.dir.groupOwners;
    if (!table.add(groupId, target)) return undefined;
    this.linkLog(groupId, rel, target, this.dir.typeOf(target));
    return { kind: rel === 'members' ? 'memberAdded' : 'ownerAdded', objectId: groupId, targetId: target };
  }

  removeGroupLink(rel: 'members' | 'owners', groupId: string, target: string, targetType?: ObjectType): Change | undefined {
    const table = rel === 'members' ? this.dir.groupMembers : this.dir.groupOwners;
    const type = targetType ?? this.dir.typeOf(target);
    if (!table.remove(groupId, target)) return undefined;
    this.linkLog(groupId, rel, target, type);
    return { kind: rel === 'members' ? 'memberRemoved' : 'ownerRemoved', objectId: groupId, targetId: target };
  }

  addSpOwner(spId: string, owner: string): Change | undefined {
    if (!this.dir.spOwners.add(spId, owner)) return undefined;
    return { kind: 'servicePrincipalOwnerAdded', objectId: spId, targetId: owner };
  }

  removeSpOwner(spId: string, owner: string): Change | undefined {
    if (!this.dir.spOwners.remove(spId, owner)) return undefined;
    return { kind: 'servicePrincipalOwnerRemoved', objectId: spId, targetId: owner };
  }

  createAppRoleAssignment(resource: Entity, principalId: string, appRoleId: string): { change: Change; assignment: Entity } {
    const type = this.dir.typeOf(principalId);
    const principalType = type === 'group' ? 'Group' : type === 'servicePrincipal' ? 'ServicePrincipal' : 'User';
    const principal = this.dir.getObject(principalId);
    const assignment = makeAssignment(this.rng, this.dir, {
      principalId,
      principalType,
      principalDisplayName: String(principal?.['displayName'] ?? ''),
      resource,
      appRoleId,
      createdMs: Date.now(),
    });
    return {
      change: { kind: 'appRoleAssignmentCreated', objectId: resource.id, targetId: principalId, itemId: assignment.id },
      assignment,
    };
  }

  deleteAppRoleAssignment(id: string): Change | undefined {
    const a = this.dir.appRoleAssignments.get(id);
    if (!a) return undefined;
    this.dir.appRoleAssignments.delete(id);
    this.dir.assignmentsByResource.remove(String(a['resourceId']), id);
    this.dir.assignmentsByPrincipal.remove(String(a['principalId']), id);
    return { kind: 'appRoleAssignmentDeleted', objectId: String(a['resourceId']), targetId: String(a['principalId']), itemId: id };
  }

  createRoleAssignment(roleDefinitionId: string, principalId: string, scope: string): { change: Change; assignment: Entity } {
    const before = this.dir.directoryRoleByTemplate.get(roleDefinitionId);
    const assignment = addRoleAssignment(this.dir, this.rng, roleDefinitionId, principalId, scope);
    const roleId = this.dir.directoryRoleByTemplate.get(roleDefinitionId);
    if (roleId) {
      if (!before) this.dir.log('directoryRoles', { id: roleId, op: 'upsert', created: true });
      if (scope === '/') {
        this.dir.log('directoryRoles', {
          id: roleId,
          op: 'link',
          rel: 'members',
          target: principalId,
          ...(this.dir.typeOf(principalId) ? { targetType: this.dir.typeOf(principalId) } : {}),
        });
      }
    }
    return {
      change: { kind: 'roleAssignmentCreated', objectId: roleDefinitionId, targetId: principalId, itemId: assignment.id },
      assignment,
    };
  }

  deleteRoleAssignment(id: string, principalType?: ObjectType): Change | undefined {
    const a = this.dir.roleAssignments.get(id);
    if (!a) return undefined;
    this.dir.roleAssignments.delete(id);
    const def = String(a['roleDefinitionId']);
    const principal = String(a['principalId']);
    const roleId = this.dir.directoryRoleByTemplate.get(def);
    if (roleId && a['directoryScopeId'] === '/') {
      const type = principalType ?? this.dir.typeOf(principal);
      this.dir.log('directoryRoles', { id: roleId, op: 'link', rel: 'members', target: principal, ...(type ? { targetType: type } : {}) });
    }
    return { kind: 'roleAssignmentDeleted', objectId: def, targetId: principal, itemId: id };
  }

  createEligibility(fields: { principalId: string; roleDefinitionId: string; directoryScopeId: string; scheduleInfo: JsonObject }): {
    change: Change;
    schedule: Entity;
  } {
    const id = this.rng.guid();
    const now = new Date().toISOString();
    const schedule: Entity = {
      id,
      principalId: fields.principalId,
      roleDefinitionId: fields.roleDefinitionId,
      directoryScopeId: fields.directoryScopeId,
      appScopeId: null,
      memberType: 'Direct',
      status: 'Provisioned',
      createdUsing: id,
      createdDateTime: now,
      modifiedDateTime: null,
      scheduleInfo: fields.scheduleInfo,
    };
    this.dir.roleEligibilitySchedules.set(schedule);
    return {
      change: { kind: 'roleEligibilityCreated', objectId: fields.roleDefinitionId, targetId: fields.principalId, itemId: id },
      schedule,
    };
  }

  deleteEligibility(id: string): Change | undefined {
    const s = this.dir.roleEligibilitySchedules.get(id);
    if (!s) return undefined;
    this.dir.roleEligibilitySchedules.delete(id);
    return { kind: 'roleEligibilityDeleted', objectId: String(s['roleDefinitionId']), targetId: String(s['principalId']), itemId: id };
  }

  createUser(user: Entity): Change {
    this.dir.users.set(user);
    this.dir.log('users', { id: user.id, op: 'upsert', created: true });
    return { kind: 'userCreated', objectId: user.id };
  }

  updateObject(kind: 'users' | 'groups', id: string, patch: JsonObject): Change | undefined {
    const coll = kind === 'users' ? this.dir.users : this.dir.groups;
    const cur = coll.get(id);
    if (!cur) return undefined;
    const props = Object.keys(patch).filter((k) => JSON.stringify(cur[k] ?? null) !== JSON.stringify(patch[k]));
    if (!props.length) return undefined;
    coll.set({ ...cur, ...patch, id });
    this.dir.log(kind, { id, op: 'upsert', props });
    return { kind: kind === 'users' ? 'userUpdated' : 'groupUpdated', objectId: id, properties: props };
  }

  createGroup(group: Entity): Change {
    this.dir.groups.set(group);
    this.dir.log('groups', { id: group.id, op: 'upsert', created: true });
    return { kind: 'groupCreated', objectId: group.id };
  }

  /** Removes every link that points at a principal (memberships, ownerships, assignments). */
  private detachPrincipal(id: string, type: ObjectType): void {
    for (const gid of this.dir.groupMembers.sourcesOf(id)) this.removeGroupLink('members', gid, id, type);
    for (const gid of this.dir.groupOwners.sourcesOf(id)) this.removeGroupLink('owners', gid, id, type);
    for (const sp of this.dir.spOwners.sourcesOf(id)) this.dir.spOwners.remove(sp, id);
    for (const aid of [...this.dir.assignmentsByPrincipal.get(id)]) this.deleteAppRoleAssignment(aid);
    for (const a of this.dir.roleAssignments.list()) if (a['principalId'] === id) this.deleteRoleAssignment(a.id, type);
    for (const s of this.dir.roleEligibilitySchedules.list()) if (s['principalId'] === id) this.dir.roleEligibilitySchedules.delete(s.id);
  }

  /**
   * Sets (or clears, with null) a user's manager. Users delta tracks it as a link: `manager@delta`
   * lists the new manager and the previous one as `@removed` (a change of any other property alone
   * does not repeat the manager).
   */
  setManager(userId: string, managerId: string | null): Change | undefined {
    const prev = this.dir.managers.get(userId) ?? null;
    if (!this.dir.users.has(userId) || prev === managerId || managerId === userId) return undefined;
    if (managerId !== null && !this.dir.users.has(managerId)) return undefined;
    if (managerId === null) this.dir.managers.delete(userId);
    else this.dir.managers.set(userId, managerId);
    if (prev !== null) this.dir.log('users', { id: userId, op: 'link', rel: 'manager', target: prev, targetType: 'user' });
    if (managerId !== null) this.dir.log('users', { id: userId, op: 'link', rel: 'manager', target: managerId, targetType: 'user' });
    return { kind: 'userUpdated', objectId: userId, properties: ['manager'] };
  }

  /** Users are soft-deleted (restorable): delta reports reason "changed". */
  deleteUser(id: string, reason: RemovedReason = 'changed'): Change | undefined {
    if (!this.dir.users.has(id)) return undefined;
    // A leaver's reports move up to the leaver's own manager (or have none).
    const up = this.dir.managers.get(id) ?? null;
    for (const [report, m] of [...this.dir.managers]) if (m === id) this.setManager(report, up === report ? null : up);
    this.dir.managers.delete(id);
    this.detachPrincipal(id, 'user');
    this.dir.users.delete(id);
    this.dir.log('users', { id, op: 'delete', reason });
    return { kind: 'userDeleted', objectId: id };
  }

  /** Security groups are deleted permanently, Microsoft 365 groups go to the recycle bin. */
  deleteGroup(id: string): Change | undefined {
    const g = this.dir.groups.get(id);
    if (!g) return undefined;
    this.detachPrincipal(id, 'group');
    this.dir.groupMembers.drop(id);
    this.dir.groupOwners.drop(id);
    this.dir.groups.delete(id);
    const unified = Array.isArray(g['groupTypes']) && (g['groupTypes'] as string[]).includes('Unified');
    this.dir.log('groups', { id, op: 'delete', reason: unified ? 'changed' : 'deleted' });
    return { kind: 'groupDeleted', objectId: id };
  }

  activateRole(templateId: string): void {
    const r = ensureDirectoryRole(this.dir, this.rng, templateId);
    if (r?.created) this.dir.log('directoryRoles', { id: r.role.id, op: 'upsert', created: true });
  }
}
