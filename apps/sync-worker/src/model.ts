import type { EntitlementMetadata, PrincipalKind, ResourceType } from '@warden/database';

/** A resource as the writers take it (Graph property names in `profile`). */
export interface ResourceInput {
  type: ResourceType;
  externalId: string;
  displayName: string;
  profile: Record<string, unknown>;
  searchText: string;
}

export interface EntitlementInput {
  key: string;
  resourceExternalId: string;
  resourceType: ResourceType;
  slug: string;
  displayName: string;
  grantable: boolean;
  appRoleId: string | null;
  metadata: EntitlementMetadata;
}

/** A grant Graph reports directly (membership, ownership, assignment, eligibility). */
export interface DirectGrantInput {
  entitlementKey: string;
  principalExternalId: string;
  principalKind: PrincipalKind;
  graphAssignmentId: string | null;
  /** Only eligibility schedules carry an expiry from Graph; other kinds keep what provisioning set. */
  expiresAt: string | null;
}

export const DEFAULT_ACCESS_ROLE_ID = '00000000-0000-0000-0000-000000000000';

/** lower(displayName || ' ' || upn || ' ' || mail): what the trigram search index covers. */
export function searchText(...parts: (unknown | null | undefined)[]): string {
  return parts
    .filter((p): p is string => typeof p === 'string' && p.length > 0)
    .join(' ')
    .toLowerCase();
}

/**
 * Principal kind from a Graph @odata.type name (not a ResourceType: see access-model's principalKindOfResource): '#microsoft.graph.user', 'user', 'User', 'ServicePrincipal'.
 * Devices, org contacts and anything else are not principals of the model (null).
 */
export function principalKindOfGraphType(type: string | null | undefined): PrincipalKind | null {
  if (!type) return null;
  const bare = type.slice(type.lastIndexOf('.') + 1).toLowerCase();
  if (bare === 'user') return 'USER';
  if (bare === 'group') return 'GROUP';
  if (bare === 'serviceprincipal') return 'SERVICE_PRINCIPAL';
  return null;
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : null;
}
