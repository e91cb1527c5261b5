export const ROLES = ['SUPER_ADMIN', 'CONNECTOR_ADMIN', 'VIEWER'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated caller, from a verified bearer token. */
export interface Caller {
  /** Token subject; recorded as actor in the audit log and as connector owner. */
  sub: string;
  role: Role;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
