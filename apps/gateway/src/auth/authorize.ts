import { ForbiddenError, UnauthenticatedError } from '../errors';
import type { Caller } from './roles';

/**
 * Every authorization decision of the gateway lives here.
 *
 * - Reads: any authenticated caller (VIEWER reads everything; CONNECTOR_ADMIN is at least a viewer).
 * - Writes on a connector (update, delete, consent, sync, grant, revoke): SUPER_ADMIN, or a
 *   CONNECTOR_ADMIN listed in the connector's owners.
 * - Creating a connector: SUPER_ADMIN or CONNECTOR_ADMIN (who always becomes an owner).
 */
export function requireCaller(caller: Caller | null): Caller {
  if (!caller) throw new UnauthenticatedError();
  return caller;
}

export function requireReader(caller: Caller | null): Caller {
  return requireCaller(caller);
}

export function requireConnectorCreator(caller: Caller | null): Caller {
  const c = requireCaller(caller);
  if (c.role === 'SUPER_ADMIN' || c.role === 'CONNECTOR_ADMIN') return c;
  throw new ForbiddenError('creating connectors needs the SUPER_ADMIN or CONNECTOR_ADMIN role');
}

/** The caller may change this connector; `owners` comes from the connector row. */
export function requireConnectorWriter(caller: Caller | null, connector: { owners: string[]; display_name: string; id?: string }): Caller {
  const c = requireCaller(caller);
  if (c.role === 'SUPER_ADMIN') return c;
  if (c.role === 'CONNECTOR_ADMIN' && connector.owners.includes(c.sub)) return c;
  if (c.role === 'CONNECTOR_ADMIN') throw new ForbiddenError(`you do not own connector '${connector.display_name}'`, { connectorId: connector.id ?? null });
  throw new ForbiddenError('your role is read-only (VIEWER)', { connectorId: connector.id ?? null });
}

/** A CONNECTOR_ADMIN cannot hand a connector away from themselves by accident. */
export function ownersFor(caller: Caller, requested: string[] | null | undefined): string[] {
  const owners = [...new Set((requested ?? []).map((o) => o.trim()).filter(Boolean))];
  if (owners.length === 0 || (caller.role === 'CONNECTOR_ADMIN' && !owners.includes(caller.sub))) owners.push(caller.sub);
  return owners;
}
