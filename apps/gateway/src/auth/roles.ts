export const ROLES = ['SUPER_ADMIN', 'CONNECTOR_ADMIN', 'VIEWER'] as const;
/** A platform role. */
export type Role = (typeof ROLES)[number];

/**
 * The caller whose token carries none of the platform roles (governance contract, "People"): it may
 * read `me` (and, later, its own requests and the items it must decide), nothing else.
 */
export const MEMBER = 'MEMBER';
export type CallerRole = Role | typeof MEMBER;

/** The authenticated caller, from a verified bearer token. */
export interface Caller {
  /** Token subject; recorded as actor in the audit log and as connector owner. */
  sub: string;
  /** The highest platform role of the token, or MEMBER when it has none. */
  role: CallerRole;
  /** Entra tenant id (`tid`), when the token carries it. */
  tid?: string;
  /** Entra object id (`oid`) of the user (or service principal), when the token carries it. */
  oid?: string;
  /** Display name (`name`, else `preferred_username`), when the token carries it. */
  name?: string;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The roles `me` reports: the platform role, or none for a member. */
export function platformRoles(caller: Caller): Role[] {
  return caller.role === MEMBER ? [] : [caller.role];
}

/**
 * Everything about a caller that an answer may depend on (role, subject, tenant, object id, name):
 * the response cache keeps caller-scoped answers (`me`) under this, so two tokens with the same
 * subject but other claims never share one.
 */
export function callerIdentityKey(caller: Caller): string {
  return JSON.stringify([caller.role, caller.sub, caller.tid ?? null, caller.oid ?? null, caller.name ?? null]);
}
