import type { AuthCheckerFn } from 'type-graphql';
import type { GatewayContext } from '../context';
import { ForbiddenError, UnauthenticatedError } from '../errors';
import type { Caller, Role } from './roles';

/**
 * Every authorization rule of the gateway is declared here, and applied in two layers:
 *
 * 1. **Roles, declared on the field.** Every Query, Mutation and Subscription field carries
 *    `@Authorized()` (any authenticated caller) or `@Authorized(rule)` with one of the rules below.
 *    type-graphql runs `authChecker` before the resolver (and before a subscription's `subscribe`),
 *    so no resolver body checks roles. `test/authorization-declared.test.ts` fails for a root field
 *    without a declaration.
 * 2. **Ownership, in the services.** Whether a CONNECTOR_ADMIN may change *this* connector needs the
 *    connector row, so ConnectorService and GrantRequestService load it and call
 *    `requireConnectorWriter` (NOT_FOUND before FORBIDDEN).
 *
 * The rules:
 * - Reads: any authenticated caller (VIEWER reads everything; CONNECTOR_ADMIN is at least a viewer).
 * - Writes on a connector (update, delete, consent, sync, grant, revoke): SUPER_ADMIN, or a
 *   CONNECTOR_ADMIN listed in the connector's owners.
 * - Creating a connector: SUPER_ADMIN or CONNECTOR_ADMIN (who always becomes an owner).
 */

/** A role rule for `@Authorized(rule)`; `@Authorized()` alone means any authenticated caller. */
export interface AccessRule {
  /** The roles that pass. */
  readonly roles: readonly Role[];
  /** The FORBIDDEN message for a caller whose role is not among them. */
  refusal(caller: Caller): string;
  /**
   * The connector the call is about, recorded in the `access.denied` audit row. null when it does
   * not exist: then the rule lets the call through and the service answers NOT_FOUND, as it always
   * has (NOT_FOUND before FORBIDDEN); the service's ownership check still refuses the role.
   */
  connectorOf?(args: Record<string, unknown>, ctx: GatewayContext): Promise<string | null>;
}

const WRITER_ROLES: readonly Role[] = ['SUPER_ADMIN', 'CONNECTOR_ADMIN'];

/** createConnector. */
export const CREATE_CONNECTORS: AccessRule = {
  roles: WRITER_ROLES,
  refusal: () => 'creating connectors needs the SUPER_ADMIN or CONNECTOR_ADMIN role',
};

/** A write on the existing connector whose id is the argument `arg` (ownership: the service). */
export function changeConnector(arg: 'id' | 'connectorId'): AccessRule {
  return {
    roles: WRITER_ROLES,
    refusal: (caller) => `your role is read-only (${caller.role})`,
    async connectorOf(args, ctx) {
      const id = args[arg];
      return typeof id === 'string' ? ((await ctx.loaders.connectorById.load(id))?.id ?? null) : null;
    },
  };
}

/** grant / revoke: a write on the connector of `input.entitlementId` (ownership: GrantRequestService). */
export const REQUEST_GRANTS: AccessRule = {
  roles: WRITER_ROLES,
  refusal: (caller) => `your role is read-only (${caller.role})`,
  async connectorOf(args, ctx) {
    const entitlementId = (args['input'] as { entitlementId?: unknown } | undefined)?.entitlementId;
    return typeof entitlementId === 'string' ? ((await ctx.loaders.entitlementById.load(entitlementId))?.connector_id ?? null) : null;
  },
};

/**
 * type-graphql's authChecker (given to buildSchemaSync in src/schema.ts). It never answers false: it
 * throws the contract's own errors (UNAUTHENTICATED with the usual message, FORBIDDEN with the rule's
 * message and connector, which `access-denied-audit.ts` records), so answers read as before.
 */
export const authChecker: AuthCheckerFn<GatewayContext, AccessRule> = async ({ args, context }, rules) => {
  const caller = requireCaller(context.caller);
  for (const rule of rules) {
    if (rule.roles.includes(caller.role)) continue;
    if (rule.connectorOf) {
      const connectorId = await rule.connectorOf(args as Record<string, unknown>, context);
      if (connectorId === null) continue;
      throw new ForbiddenError(rule.refusal(caller), { connectorId });
    }
    throw new ForbiddenError(rule.refusal(caller));
  }
  return true;
};

export function requireCaller(caller: Caller | null): Caller {
  if (!caller) throw new UnauthenticatedError();
  return caller;
}

/** Ownership: the caller may change this connector; `owners` comes from the connector row. */
export function requireConnectorWriter(caller: Caller | null, connector: { owners: string[]; display_name: string; id?: string }): Caller {
  const c = requireCaller(caller);
  if (c.role === 'SUPER_ADMIN') return c;
  if (c.role === 'CONNECTOR_ADMIN' && connector.owners.includes(c.sub)) return c;
  if (c.role === 'CONNECTOR_ADMIN')
    throw new ForbiddenError(`you do not own connector '${connector.display_name}'`, { connectorId: connector.id ?? null });
  throw new ForbiddenError('your role is read-only (VIEWER)', { connectorId: connector.id ?? null });
}

/** A CONNECTOR_ADMIN cannot hand a connector away from themselves by accident. */
export function ownersFor(caller: Caller, requested: string[] | null | undefined): string[] {
  const owners = [...new Set((requested ?? []).map((o) => o.trim()).filter(Boolean))];
  if (owners.length === 0 || (caller.role === 'CONNECTOR_ADMIN' && !owners.includes(caller.sub))) owners.push(caller.sub);
  return owners;
}
