import type { GraphClient } from '@warden/graph-core';
import type { EntitlementKind } from '@warden/access-model';
import type { ResourceType } from '@warden/database';

/** Everything one grant or revoke needs to know; built from the task, entitlement and grant rows. */
export interface OperationInput {
  graph: GraphClient;
  signal: AbortSignal;
  /** Graph root of the connector (for `@odata.id` references). */
  graphBaseUrl: string;
  /** Graph id of the group, service principal or role definition. */
  resourceId: string;
  resourceName: string;
  /** Graph id of the principal. */
  principalId: string;
  principalType: ResourceType;
  principalName: string;
  /** Directory roles: the directoryScopeId ('/' tenant-wide; `/administrativeUnits/<id>` or `/<app object id>` for `assigned@<scope>`). */
  directoryScopeId: string;
  /** App role id for app assignments (the default-access id for 'assigned'). */
  appRoleId: string | null;
  /** GRANT: the end of just-in-time access (PIM eligibility carries it to Graph). */
  expiresAt: Date | null;
  /** The Graph assignment id we know for this grant (appRoleAssignment, roleAssignment, eligibility schedule). */
  knownAssignmentId: string | null;
  justification: string;
}

/**
 * What Graph answered. 'applied': this call changed the tenant. 'unchanged': the tenant already
 * was in the requested state (duplicate grant, revoke of something not held, or found so by a probe
 * after a crash) — success without a second effect.
 */
export interface OperationResult {
  effect: 'applied' | 'unchanged';
  graphAssignmentId: string | null;
  requestId: string | null;
}

/** Graph's current state for one (entitlement, principal). */
export interface HeldState {
  held: boolean;
  graphAssignmentId: string | null;
}

export interface Operation {
  kind: EntitlementKind;
  /** Application permissions that allow the write, least privileged first (named in 403 messages). */
  permissions: readonly string[];
  grant(input: OperationInput): Promise<OperationResult>;
  revoke(input: OperationInput): Promise<OperationResult>;
  /** Reads Graph's current state; used before repeating a write whose outcome a crash may have lost. */
  probe(input: OperationInput): Promise<HeldState>;
}

/** An outcome retrying cannot change: the task ends FAILED with this message (written for an admin). */
export class PermanentFailure extends Error {
  constructor(
    message: string,
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'PermanentFailure';
  }
}
