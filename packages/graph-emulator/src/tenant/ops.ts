import type { Change, JsonObject } from '../types';
import { auditValue, targetTypeOf, type AuditActor, type AuditEvent, type AuditTarget } from './audit-log';
import type { Directory, Entity, ObjectType, RemovedReason } from './directory';
import { addRoleAssignment, ensureDirectoryRole, makeAssignment } from './generate';
import type { Rng } from './rng';

const APP_ROLE_ASSIGNMENT = {
  user: { category: 'UserManagement', add: 'Add app role assignment grant to user', remove: 'Remove app role assignment from user' },
  group: { category: 'GroupManagement', add: 'Add app role assignment to group', remove: 'Remove app role assignment from group' },
  servicePrincipal: {
    category: 'ApplicationManagement',
    add: 'Add app role assignment to service principal',
    remove: 'Remove app role assignment from service principal',
  },
} as const;

/**
 * Every state change of the tenant goes through here, so reads, the export, the delta change logs and
 * the directory audit log always agree. Callers validate (and produce Graph's errors) before calling.
 */
export class TenantOps {
  /** Who the next changes are audited as: the Graph router sets the calling app around a write; null = an administrator (`mutate`). */
  actor: AuditActor | null = null;

  constructor(
    private readonly dir: Directory,
    private readonly rng: Rng,
  ) {}

  private audit(e: AuditEvent): void {
    this.dir.audits.record(e, this.actor);
  }

  private principalTarget(id: string, type?: ObjectType, modifiedProperties?: AuditTarget['modifiedProperties']): AuditTarget {
    return { id, type: targetTypeOf(type ?? this.dir.typeOf(id)), ...(modifiedProperties ? { modifiedProperties } : {}) };
  }

  private linkLog(groupId: string, rel: 'members' | 'owners', target: string, targetType: ObjectType | undefined): void {
    this.dir.log('groups', { id: groupId, op: 'link', rel, target, ...(targetType ? { targetType } : {}) });
  }

  private groupLinkAudit(rel: 'members' | 'owners', add: boolean, groupId: string, target: string, type?: ObjectType): void {
    const name = String(this.dir.groups.get(groupId)?.['displayName'] ?? '');
    const v = (x: string) => (add ? { oldValue: null, newValue: auditValue(x) } : { oldValue: auditValue(x), newValue: null });
    this.audit({
      category: 'GroupManagement',
      activityDisplayName: `${add ? 'Add' : 'Remove'} ${rel === 'members' ? 'member' : 'owner'} ${add ? 'to' : 'from'} group`,
      operationType: add ? 'Assign' : 'Unassign',
      targets: [
        this.principalTarget(target, type, [
          { displayName: 'Group.ObjectID', ...v(groupId) },
          { displayName: 'Group.DisplayName', ...v(name) },
        ]),
        { id: groupId, type: 'Group' },
      ],
    });
  }

  addGroupLink(rel: 'members' | 'owners', groupId: string, target: string): Change | undefined {
    const table = rel === 'members' ? this.dir.groupMembers : this.dir.groupOwners;
    if (!table.add(groupId, target)) return undefined;
    this.linkLog(groupId, rel, target, this.dir.typeOf(target));
    this.groupLinkAudit(rel, true, groupId, target);
    return { kind: rel === 'members' ? 'memberAdded' : 'ownerAdded', objectId: groupId, targetId: target };
  }

  /** `audited = false` for links a deletion takes away (Graph audits the deletion only). */
  removeGroupLink(rel: 'members' | 'owners', groupId: string, target: string, targetType?: ObjectType, audited = true): Change | undefined {
    const table = rel === 'members' ? this.dir.groupMembers : this.dir.groupOwners;
    const type = targetType ?? this.dir.typeOf(target);
    if (!table.remove(groupId, target)) return undefined;
    this.linkLog(groupId, rel, target, type);
    if (audited) this.groupLinkAudit(rel, false, groupId, target, type);
    return { kind: rel === 'members' ? 'memberRemoved' : 'ownerRemoved', objectId: groupId, targetId: target };
  }

  private spOwnerAudit(add: boolean, spId: string, owner: string): void {
    const sp = this.dir.servicePrincipals.get(spId);
    const v = (x: unknown) =>
      add ? { oldValue: null, newValue: auditValue(String(x ?? '')) } : { oldValue: auditValue(String(x ?? '')), newValue: null };
    this.audit({
      category: 'ApplicationManagement',
      activityDisplayName: add ? 'Add owner to service principal' : 'Remove owner from service principal',
      operationType: add ? 'Assign' : 'Unassign',
      targets: [
        this.principalTarget(owner, undefined, [
          { displayName: 'ServicePrincipal.ObjectID', ...v(spId) },
          { displayName: 'ServicePrincipal.DisplayName', ...v(sp?.['displayName']) },
          { displayName: 'ServicePrincipal.AppId', ...v(sp?.['appId']) },
        ]),
        { id: spId, type: 'ServicePrincipal' },
      ],
    });
  }

  addSpOwner(spId: string, owner: string): Change | undefined {
    if (!this.dir.spOwners.add(spId, owner)) return undefined;
    this.spOwnerAudit(true, spId, owner);
    return { kind: 'servicePrincipalOwnerAdded', objectId: spId, targetId: owner };
  }

  removeSpOwner(spId: string, owner: string): Change | undefined {
    if (!this.dir.spOwners.remove(spId, owner)) return undefined;
    this.spOwnerAudit(false, spId, owner);
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
    this.appRoleAssignmentAudit(true, assignment, type);
    return {
      change: { kind: 'appRoleAssignmentCreated', objectId: resource.id, targetId: principalId, itemId: assignment.id },
      assignment,
    };
  }

  /**
   * Graph's activity depends on who holds the assignment; the resource service principal is the first
   * target (with the role in modifiedProperties), the principal the second.
   */
  private appRoleAssignmentAudit(add: boolean, a: Entity, principalType: ObjectType | undefined): void {
    const kind = principalType === 'group' ? 'group' : principalType === 'servicePrincipal' ? 'servicePrincipal' : 'user';
    const names = APP_ROLE_ASSIGNMENT[kind];
    const resource = this.dir.servicePrincipals.get(String(a['resourceId']));
    const roleId = String(a['appRoleId']);
    const role = ((resource?.['appRoles'] as JsonObject[] | undefined) ?? []).find(
      (r) => String(r['id']).toLowerCase() === roleId.toLowerCase(),
    );
    const v = (x: unknown) =>
      add ? { oldValue: null, newValue: auditValue(x as string | null) } : { oldValue: auditValue(x as string | null), newValue: null };
    const principalLabel = kind === 'user' ? 'User' : kind === 'group' ? 'Group' : 'ServicePrincipal';
    this.audit({
      category: names.category,
      activityDisplayName: add ? names.add : names.remove,
      operationType: add ? 'Assign' : 'Unassign',
      targets: [
        {
          id: String(a['resourceId']),
          type: 'ServicePrincipal',
          modifiedProperties: [
            { displayName: 'AppRole.Id', ...v(roleId) },
            { displayName: 'AppRole.Value', ...v(role?.['value'] ?? null) },
            { displayName: 'AppRole.DisplayName', ...v(role?.['displayName'] ?? null) },
            { displayName: 'AppRoleAssignment.Id', ...v(a.id) },
            { displayName: `${principalLabel}.ObjectID`, ...v(a['principalId']) },
          ],
        },
        this.principalTarget(String(a['principalId']), principalType),
      ],
    });
  }

  /** `audited = false` when a deleted principal takes its assignments with it (Graph audits the deletion only). */
  deleteAppRoleAssignment(id: string, audited = true): Change | undefined {
    const a = this.dir.appRoleAssignments.get(id);
    if (!a) return undefined;
    if (audited) this.appRoleAssignmentAudit(false, a, this.dir.typeOf(String(a['principalId'])));
    this.dir.appRoleAssignments.delete(id);
    this.dir.assignmentsByResource.remove(String(a['resourceId']), id);
    this.dir.assignmentsByPrincipal.remove(String(a['principalId']), id);
    return { kind: 'appRoleAssignmentDeleted', objectId: String(a['resourceId']), targetId: String(a['principalId']), itemId: id };
  }

  createRoleAssignment(roleDefinitionId: string, principalId: string, scope: string): { change: Change; assignment: Entity } {
    const before = this.dir.directoryRoleByTemplate.get(roleDefinitionId);
    const assignment = addRoleAssignment(this.dir, this.rng, roleDefinitionId, principalId, scope);
    this.roleAudit(true, scope === '/' ? 'member' : 'scoped member', roleDefinitionId, principalId);
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

  private roleAudit(
    add: boolean,
    what: 'member' | 'scoped member' | 'eligible member',
    roleDefinitionId: string,
    principalId: string,
    type?: ObjectType,
  ): void {
    const def = this.dir.roleDefinitions.get(roleDefinitionId);
    const v = (x: unknown) =>
      add ? { oldValue: null, newValue: auditValue(String(x ?? '')) } : { oldValue: auditValue(String(x ?? '')), newValue: null };
    this.audit({
      category: 'RoleManagement',
      activityDisplayName: `${add ? 'Add' : 'Remove'} ${what} ${add ? 'to' : 'from'} role`,
      operationType: add ? 'Assign' : 'Unassign',
      targets: [
        this.principalTarget(principalId, type, [
          { displayName: 'Role.ObjectID', ...v(roleDefinitionId) },
          { displayName: 'Role.DisplayName', ...v(def?.['displayName']) },
          { displayName: 'Role.TemplateId', ...v(roleDefinitionId) },
        ]),
        { id: roleDefinitionId, type: 'Role' },
      ],
    });
  }

  deleteRoleAssignment(id: string, principalType?: ObjectType, audited = true): Change | undefined {
    const a = this.dir.roleAssignments.get(id);
    if (!a) return undefined;
    const def = String(a['roleDefinitionId']);
    const principal = String(a['principalId']);
    if (audited) this.roleAudit(false, a['directoryScopeId'] === '/' ? 'member' : 'scoped member', def, principal, principalType);
    this.dir.roleAssignments.delete(id);
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
    this.roleAudit(true, 'eligible member', fields.roleDefinitionId, fields.principalId);
    return {
      change: { kind: 'roleEligibilityCreated', objectId: fields.roleDefinitionId, targetId: fields.principalId, itemId: id },
      schedule,
    };
  }

  deleteEligibility(id: string): Change | undefined {
    const s = this.dir.roleEligibilitySchedules.get(id);
    if (!s) return undefined;
    this.roleAudit(false, 'eligible member', String(s['roleDefinitionId']), String(s['principalId']));
    this.dir.roleEligibilitySchedules.delete(id);
    return { kind: 'roleEligibilityDeleted', objectId: String(s['roleDefinitionId']), targetId: String(s['principalId']), itemId: id };
  }

  createUser(user: Entity): Change {
    this.dir.users.set(user);
    this.dir.log('users', { id: user.id, op: 'upsert', created: true });
    this.audit({
      category: 'UserManagement',
      activityDisplayName: 'Add user',
      operationType: 'Add',
      targets: [
        this.principalTarget(
          user.id,
          'user',
          ['accountEnabled', 'displayName', 'userPrincipalName', 'userType'].map((k) => ({
            displayName: k.charAt(0).toUpperCase() + k.slice(1),
            oldValue: null,
            newValue: auditValue(user[k]),
          })),
        ),
      ],
    });
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
    const modified = props.map((k) => ({
      displayName: k.charAt(0).toUpperCase() + k.slice(1),
      oldValue: auditValue(cur[k]),
      newValue: auditValue(patch[k]),
    }));
    this.audit({
      category: kind === 'users' ? 'UserManagement' : 'GroupManagement',
      activityDisplayName: kind === 'users' ? 'Update user' : 'Update group',
      operationType: 'Update',
      targets: [this.principalTarget(id, kind === 'users' ? 'user' : 'group', modified)],
    });
    if (kind === 'users' && props.includes('accountEnabled')) {
      this.audit({
        category: 'UserManagement',
        activityDisplayName: patch['accountEnabled'] ? 'Enable account' : 'Disable account',
        operationType: 'Update',
        targets: [this.principalTarget(id, 'user')],
      });
    }
    return { kind: kind === 'users' ? 'userUpdated' : 'groupUpdated', objectId: id, properties: props };
  }

  createGroup(group: Entity): Change {
    this.dir.groups.set(group);
    this.dir.log('groups', { id: group.id, op: 'upsert', created: true });
    this.audit({
      category: 'GroupManagement',
      activityDisplayName: 'Add group',
      operationType: 'Add',
      targets: [this.principalTarget(group.id, 'group')],
    });
    return { kind: 'groupCreated', objectId: group.id };
  }

  /** Removes every link that points at a principal (memberships, ownerships, assignments). */
  private detachPrincipal(id: string, type: ObjectType): void {
    for (const gid of this.dir.groupMembers.sourcesOf(id)) this.removeGroupLink('members', gid, id, type, false);
    for (const gid of this.dir.groupOwners.sourcesOf(id)) this.removeGroupLink('owners', gid, id, type, false);
    for (const sp of this.dir.spOwners.sourcesOf(id)) this.dir.spOwners.remove(sp, id);
    for (const aid of [...this.dir.assignmentsByPrincipal.get(id)]) this.deleteAppRoleAssignment(aid, false);
    for (const a of this.dir.roleAssignments.list()) if (a['principalId'] === id) this.deleteRoleAssignment(a.id, type, false);
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
    // Graph audits a new manager as "Set user manager"; a cleared one shows as an update of the user.
    this.audit({
      category: 'UserManagement',
      activityDisplayName: managerId !== null ? 'Set user manager' : 'Update user',
      operationType: managerId !== null ? 'Assign' : 'Update',
      targets: [
        this.principalTarget(userId, 'user', [{ displayName: 'Manager', oldValue: auditValue(prev), newValue: auditValue(managerId) }]),
      ],
    });
    return { kind: 'userUpdated', objectId: userId, properties: ['manager'] };
  }

  /** Users are soft-deleted (restorable): delta reports reason "changed". */
  deleteUser(id: string, reason: RemovedReason = 'changed'): Change | undefined {
    if (!this.dir.users.has(id)) return undefined;
    // A leaver's reports move up to the leaver's own manager (or have none).
    this.audit({
      category: 'UserManagement',
      activityDisplayName: 'Delete user',
      operationType: 'Delete',
      targets: [this.principalTarget(id, 'user')],
    });
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
    this.audit({
      category: 'GroupManagement',
      activityDisplayName: 'Delete group',
      operationType: 'Delete',
      targets: [this.principalTarget(id, 'group')],
    });
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
