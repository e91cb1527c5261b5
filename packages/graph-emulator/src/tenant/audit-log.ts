import { randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from '../types';
import type { Directory, Entity, ObjectType } from './directory';

/** Who made a change: an app through Graph (its client id), or nobody known (a tenant administrator in the portal). */
export interface AuditActor {
  appId: string;
}

/** A targetResource's `type` as Graph writes it. */
export type AuditTargetType = 'User' | 'Group' | 'ServicePrincipal' | 'Device' | 'Role' | 'Other';

export interface ModifiedProperty {
  displayName: string;
  oldValue: string | null;
  newValue: string | null;
}

export interface AuditTarget {
  id: string;
  type: AuditTargetType;
  modifiedProperties?: ModifiedProperty[];
}

export interface AuditEvent {
  category: string;
  activityDisplayName: string;
  operationType: 'Add' | 'Assign' | 'Update' | 'Unassign' | 'Delete';
  targets: AuditTarget[];
}

const TARGET_TYPE: Record<ObjectType, AuditTargetType> = {
  user: 'User',
  group: 'Group',
  servicePrincipal: 'ServicePrincipal',
  device: 'Device',
  orgContact: 'Other',
};

export function targetTypeOf(type: ObjectType | undefined): AuditTargetType {
  return type ? TARGET_TYPE[type] : 'Other';
}

/** Graph writes old and new values as JSON text ("\"Sales\"", "[]"). */
export function auditValue(v: JsonValue | undefined): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

/** Graph's activityDateTime has seven fractional digits; ours has milliseconds, padded. */
function activityDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '0000Z');
}

/**
 * The tenant's directory audit log (`/auditLogs/directoryAudits`): one entry per change, appended in
 * time order by TenantOps (Graph writes and `mutate` alike). Entries are never changed; `visible()`
 * hands out the entries a reader may see at a given time, newest first, as stable arrays.
 */
export class AuditLog {
  private readonly entries: Entity[] = [];
  private readonly times: number[] = [];
  private seq = 0;
  private readonly views = new Map<number, readonly Entity[]>();
  private readonly appsByAppId = new Map<string, Entity>();

  constructor(private readonly dir: Directory) {}

  get size(): number {
    return this.entries.length;
  }

  record(e: AuditEvent, actor: AuditActor | null, now = Date.now()): void {
    const correlationId = randomUUID();
    this.seq++;
    const entry: Entity = {
      id: `Directory_${correlationId}_${this.seq.toString(36).toUpperCase().padStart(5, '0')}_${now % 1_000_000_000}`,
      category: e.category,
      correlationId,
      result: 'success',
      resultReason: '',
      activityDisplayName: e.activityDisplayName,
      activityDateTime: activityDateTime(now),
      loggedByService: 'Core Directory',
      operationType: e.operationType,
      initiatedBy: this.initiator(actor),
      targetResources: e.targets.map((t) => this.target(t)),
      additionalDetails: [],
    };
    this.entries.push(entry);
    this.times.push(now);
  }

  /** Entries recorded at or before `cutoff` (ms), newest first: what Graph shows after its latency. */
  visible(cutoff: number): readonly Entity[] {
    let n = this.times.length;
    while (n > 0 && (this.times[n - 1] as number) > cutoff) n--;
    let view = this.views.get(n);
    if (!view) {
      view = Object.freeze(this.entries.slice(0, n).reverse());
      if (this.views.size > 32) this.views.clear();
      this.views.set(n, view);
    }
    return view;
  }

  /** Every entry, oldest first (tests and the export of what happened). */
  all(): Entity[] {
    return [...this.entries];
  }

  private initiator(actor: AuditActor | null): JsonObject {
    if (actor) {
      let sp = this.appsByAppId.get(actor.appId);
      if (!sp) {
        sp = [...this.dir.servicePrincipals.values()].find((s) => s['appId'] === actor.appId);
        if (sp) this.appsByAppId.set(actor.appId, sp);
      }
      return {
        user: null,
        app: {
          appId: actor.appId,
          displayName: (sp?.['displayName'] as string | undefined) ?? null,
          servicePrincipalId: sp?.id ?? null,
          servicePrincipalName: null,
        },
      };
    }
    // Changes made outside Graph (`mutate`) are the work of an administrator: the tenant's first user.
    const admin = this.dir.users.values().next().value as Entity | undefined;
    return {
      user: {
        id: admin?.id ?? null,
        displayName: (admin?.['displayName'] as string | undefined) ?? null,
        userPrincipalName: (admin?.['userPrincipalName'] as string | undefined) ?? null,
        ipAddress: '203.0.113.10',
        userType: null,
        homeTenantId: null,
        homeTenantName: null,
      },
      app: null,
    };
  }

  private target(t: AuditTarget): JsonObject {
    const obj = t.type === 'Role' ? this.dir.roleDefinitions.get(t.id) : this.dir.getObject(t.id);
    const groupTypes = obj?.['groupTypes'];
    return {
      id: t.id,
      displayName: (obj?.['displayName'] as string | undefined) ?? null,
      type: t.type,
      userPrincipalName: t.type === 'User' ? ((obj?.['userPrincipalName'] as string | undefined) ?? null) : null,
      groupType:
        t.type === 'Group' && obj ? (Array.isArray(groupTypes) && groupTypes.includes('Unified') ? 'unifiedGroups' : 'azureAD') : null,
      modifiedProperties: (t.modifiedProperties ?? []) as unknown as JsonValue,
    };
  }
}
