import type { JsonObject } from '../types';
import { AuditLog } from './audit-log';
import { Collection, LinkTable } from './collection';

export type ObjectType = 'user' | 'group' | 'servicePrincipal' | 'device' | 'orgContact';
export type DeltaResource = 'users' | 'groups' | 'servicePrincipals' | 'directoryRoles';
export type RemovedReason = 'changed' | 'deleted';
export type Entity = JsonObject & { id: string };

/** One entry of the append-only change log that delta rounds replay from any position. */
export interface LogEntry {
  at: number;
  id: string;
  op: 'upsert' | 'delete' | 'link';
  props?: readonly string[];
  rel?: 'members' | 'owners' | 'manager';
  target?: string;
  /** Type of the link target, recorded because a deleted target can no longer be looked up. */
  targetType?: ObjectType;
  reason?: RemovedReason;
  /** Created by this entry (delta renders it in full even with Prefer: return=minimal). */
  created?: boolean;
}

/** The whole mutable tenant: objects, links, indexes and the per-resource change logs. */
export class Directory {
  readonly users = new Collection<Entity>();
  readonly groups = new Collection<Entity>();
  readonly servicePrincipals = new Collection<Entity>();
  readonly devices = new Collection<Entity>();
  readonly orgContacts = new Collection<Entity>();
  readonly appRoleAssignments = new Collection<Entity>();
  readonly roleDefinitions = new Collection<Entity>();
  readonly roleAssignments = new Collection<Entity>();
  readonly roleEligibilitySchedules = new Collection<Entity>();
  /** Administrative units (the scopes of AU-scoped role assignments). */
  readonly administrativeUnits = new Collection<Entity>();
  /** App registrations of this tenant (the scopes of application-scoped role assignments). */
  readonly applications = new Collection<Entity>();

  /** Eligibility schedules as Graph lists them: those that have not ended (`afterDateTime` in the past). */
  currentEligibilitySchedules(now = Date.now()): Entity[] {
    return this.roleEligibilitySchedules.list().filter((s) => {
      const exp = (s['scheduleInfo'] as JsonObject | undefined)?.['expiration'] as JsonObject | undefined;
      return !(exp?.['type'] === 'afterDateTime' && typeof exp['endDateTime'] === 'string' && Date.parse(exp['endDateTime']) <= now);
    });
  }
  /** Activated directory roles, keyed by their own id. */
  readonly directoryRoles = new Collection<Entity>();

  readonly groupMembers = new LinkTable();
  readonly groupOwners = new LinkTable();
  readonly spOwners = new LinkTable();
  /** user id -> the id of their manager (a user); users without a manager have no entry. */
  readonly managers = new Map<string, string>();
  /** resource SP id -> appRoleAssignment ids (appRoleAssignedTo). */
  readonly assignmentsByResource = new LinkTable();
  /** principal id -> appRoleAssignment ids (what a user, group or SP holds). */
  readonly assignmentsByPrincipal = new LinkTable();
  /** roleTemplateId -> directoryRole id. */
  readonly directoryRoleByTemplate = new Map<string, string>();

  readonly logs: Record<DeltaResource, LogEntry[]> = { users: [], groups: [], servicePrincipals: [], directoryRoles: [] };
  /** Bumped by reset(); delta tokens from another epoch are no longer valid. */
  epoch = 0;
  /** `/auditLogs/directoryAudits`: one entry per change since the tenant was generated. */
  readonly audits: AuditLog = new AuditLog(this);

  constructor(
    readonly tenantId: string,
    readonly domain: string,
  ) {}

  typeOf(id: string): ObjectType | undefined {
    if (this.users.has(id)) return 'user';
    if (this.groups.has(id)) return 'group';
    if (this.servicePrincipals.has(id)) return 'servicePrincipal';
    if (this.devices.has(id)) return 'device';
    if (this.orgContacts.has(id)) return 'orgContact';
    return undefined;
  }

  getObject(id: string): Entity | undefined {
    return this.users.get(id) ?? this.groups.get(id) ?? this.servicePrincipals.get(id) ?? this.devices.get(id) ?? this.orgContacts.get(id);
  }

  log(res: DeltaResource, e: Omit<LogEntry, 'at'>): void {
    this.logs[res].push({ ...e, at: Date.now() });
  }

  /** Members of an activated directory role: principals of active assignments at tenant scope. */
  directoryRoleMembers(roleId: string): string[] {
    const role = this.directoryRoles.get(roleId);
    if (!role) return [];
    const templateId = String(role['roleTemplateId']);
    const out = new Set<string>();
    for (const a of this.roleAssignments.list()) {
      if (a['roleDefinitionId'] === templateId && a['directoryScopeId'] === '/') out.add(String(a['principalId']));
    }
    return [...out];
  }
}
