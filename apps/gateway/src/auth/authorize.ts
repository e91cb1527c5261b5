import { getNamedType, isObjectType, type FieldNode, type GraphQLNamedType, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { AuthCheckerFn } from 'type-graphql';
import type { GatewayContext } from '../context';
import { ForbiddenError, UnauthenticatedError } from '../errors';
import { MEMBER, ROLES, type Caller, type CallerRole } from './roles';

/**
 * Every authorization rule of the gateway is declared here, and applied in two layers:
 *
 * 1. **Roles, declared on the field.** Every Query, Mutation and Subscription field carries
 *    `@Authorized()` (any caller with a platform role: SUPER_ADMIN, CONNECTOR_ADMIN or VIEWER) or
 *    `@Authorized(rule)` with one of the rules below (`EVERY_CALLER` lets members in as well).
 *    type-graphql runs `authChecker` before the resolver (and before a subscription's `subscribe`),
 *    so no resolver body checks roles. `test/authorization-declared.test.ts` fails for a root field
 *    without a declaration.
 * 2. **Ownership, in the services.** Whether a CONNECTOR_ADMIN may change *this* connector needs the
 *    connector row, so ConnectorService and GrantRequestService load it and call
 *    `requireConnectorWriter` (NOT_FOUND before FORBIDDEN).
 *
 * The rules:
 * - Reads: any caller with a platform role (VIEWER reads everything; CONNECTOR_ADMIN is at least a viewer).
 * - Members (a token with none of the platform roles): `me`, and the access-review fields a reviewer
 *   needs (`accessReview` of a review they review, only their own items; `myReviewItems`;
 *   `decideReviewItems`; `accessReviewUpdated`), all `EVERY_CALLER`, and within them only what
 *   `MEMBER_VISIBLE_FIELDS` lists (`requireMemberVisible`): everything else is FORBIDDEN. Which items a
 *   member may read or decide is checked by the reviews module (named reviewer, never its own access).
 *   Likewise the access-request fields (`EVERY_CALLER`): which requests a member reaches (its own,
 *   those for its identities, those it decides) is AccessRequestService's rule.
 * - Writes on a connector (update, delete, consent, sync, grant, revoke): SUPER_ADMIN, or a
 *   CONNECTOR_ADMIN listed in the connector's owners.
 * - Creating a connector: SUPER_ADMIN or CONNECTOR_ADMIN (who always becomes an owner).
 */

/** A role rule for `@Authorized(rule)`; `@Authorized()` alone means any authenticated caller. */
export interface AccessRule {
  /** The roles that pass (MEMBER only in `EVERY_CALLER`). */
  readonly roles: readonly CallerRole[];
  /** The FORBIDDEN message for a caller whose role is not among them. */
  refusal(caller: Caller): string;
  /**
   * The connector the call is about, recorded in the `access.denied` audit row. null when it does
   * not exist: then the rule lets the call through and the service answers NOT_FOUND, as it always
   * has (NOT_FOUND before FORBIDDEN); the service's ownership check still refuses the role.
   */
  connectorOf?(args: Record<string, unknown>, ctx: GatewayContext): Promise<string | null>;
}

const WRITER_ROLES: readonly CallerRole[] = ['SUPER_ADMIN', 'CONNECTOR_ADMIN'];

const MEMBER_REFUSAL = 'this needs the SUPER_ADMIN, CONNECTOR_ADMIN or VIEWER role; a token without one (a member) may read only `me`';

/** `@Authorized()` without a rule: any caller with a platform role; members are refused. */
export const STAFF: AccessRule = {
  roles: ROLES,
  refusal: () => MEMBER_REFUSAL,
};

/** Every authenticated caller, members included (`me`). */
export const EVERY_CALLER: AccessRule = {
  roles: [...ROLES, MEMBER],
  refusal: () => 'authentication required',
};

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

/** createAccessReview: a write on the connector of `input.connectorId` (ownership: @warden/access-model's reviews). */
export const CREATE_REVIEWS: AccessRule = {
  roles: WRITER_ROLES,
  refusal: (caller) => `starting an access review needs SUPER_ADMIN or CONNECTOR_ADMIN (you are ${caller.role})`,
  async connectorOf(args, ctx) {
    const connectorId = (args['input'] as { connectorId?: unknown } | undefined)?.connectorId;
    return typeof connectorId === 'string' ? ((await ctx.loaders.connectorById.load(connectorId))?.id ?? null) : null;
  },
};

/** complete / cancel / retry an access review: a write on the review's connector (ownership: the reviews module). */
export const MANAGE_REVIEW: AccessRule = {
  roles: WRITER_ROLES,
  refusal: (caller) => `managing an access review needs SUPER_ADMIN or CONNECTOR_ADMIN (you are ${caller.role})`,
  async connectorOf(args, ctx) {
    const id = args['id'];
    if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) return null;
    const row = await ctx.deps.db.selectFrom('access_reviews').select('connector_id').where('id', '=', id).executeTakeFirst();
    return row?.connector_id ?? null;
  },
};

/** setAccessPolicy: a write on the connector `input.connectorId` (ownership: AccessPolicyService). */
export const SET_ACCESS_POLICY: AccessRule = {
  roles: WRITER_ROLES,
  refusal: (caller) => `your role is read-only (${caller.role})`,
  async connectorOf(args, ctx) {
    const id = (args['input'] as { connectorId?: unknown } | undefined)?.connectorId;
    return typeof id === 'string' ? ((await ctx.loaders.connectorById.load(id))?.id ?? null) : null;
  },
};

/**
 * type-graphql's authChecker (given to buildSchemaSync in src/schema.ts). It never answers false: it
 * throws the contract's own errors (UNAUTHENTICATED with the usual message, FORBIDDEN with the rule's
 * message and connector, which `access-denied-audit.ts` records), so answers read as before.
 */
export const authChecker: AuthCheckerFn<GatewayContext, AccessRule> = async ({ args, context }, rules) => {
  const caller = requireCaller(context.caller);
  for (const rule of rules.length ? rules : [STAFF]) {
    if (rule.roles.includes(caller.role)) continue;
    if (caller.role === MEMBER) {
      // Refused whether or not the connector exists: a member learns nothing about connectors.
      const connectorId = rule.connectorOf ? await rule.connectorOf(args as Record<string, unknown>, context) : null;
      throw new ForbiddenError(MEMBER_REFUSAL, { connectorId });
    }
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
  throw new ForbiddenError(c.role === MEMBER ? MEMBER_REFUSAL : `your role is read-only (${c.role})`, {
    connectorId: connector.id ?? null,
  });
}

/** A CONNECTOR_ADMIN cannot hand a connector away from themselves by accident. */
export function ownersFor(caller: Caller, requested: string[] | null | undefined): string[] {
  const owners = [...new Set((requested ?? []).map((o) => o.trim()).filter(Boolean))];
  if (owners.length === 0 || (caller.role === 'CONNECTOR_ADMIN' && !owners.includes(caller.sub))) owners.push(caller.sub);
  return owners;
}

/**
 * What a member may select below `me`: per object type, the fields it may read (`__typename`
 * always). Default deny: a relation added to Resource later (connector, grants, manager, …) stays
 * closed to members until it is listed here, so `me { identities { connector { logs } } }` cannot
 * walk a member into the inventory.
 */
export const MEMBER_VISIBLE_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  Me: new Set(['subject', 'roles', 'displayName', 'identities']),
  Resource: new Set(['id', 'type', 'externalId', 'displayName', 'profile']),
  // A reviewer's queue: the review (not its progress, fallback or creator), its own items, the
  // entitlement and principal they are about and who else reviews them.
  AccessReview: new Set([
    'id',
    'name',
    'status',
    'reviewers',
    'dueAt',
    'autoRevoke',
    'undecided',
    'inactiveDays',
    'createdAt',
    'completedAt',
    'items',
  ]),
  AccessReviewItemConnection: new Set(['edges', 'pageInfo', 'totalCount']),
  AccessReviewItemEdge: new Set(['cursor', 'node']),
  PageInfo: new Set(['hasNextPage', 'endCursor']),
  AccessReviewItem: new Set([
    'id',
    'review',
    'entitlement',
    'principal',
    'reviewers',
    'recommendation',
    'recommendationReason',
    'lastSignInAt',
    'decision',
    'decidedBy',
    'comment',
    'decidedAt',
    'inheritedCount',
  ]),
  // Access requests (the member's own, and those it decides): the request and its plain relations,
  // never a way from them into the inventory (no grants, logs or runs below them).
  AccessRequest: new Set([
    'id',
    'connector',
    'entitlement',
    'principal',
    'requestedBy',
    'justification',
    'durationSeconds',
    'status',
    'currentStep',
    'approvers',
    'decisions',
    'provisioningTask',
    'expiresAt',
    'createdAt',
    'updatedAt',
  ]),
  AccessRequestConnection: new Set(['edges', 'pageInfo', 'totalCount']),
  AccessRequestEdge: new Set(['cursor', 'node']),
  Decider: new Set(['subject', 'user', 'displayName']),
  ApprovalDecision: new Set(['step', 'actor', 'approved', 'comment', 'at']),
  Connector: new Set(['id', 'displayName']),
  Entitlement: new Set(['id', 'key', 'slug', 'displayName', 'grantable']),
  ProvisioningTask: new Set(['id', 'action', 'status', 'error', 'expiresAt', 'requestedAt', 'completedAt']),
  // The request catalog (requestableEntitlements): what may be asked for, and the policy's limits.
  RequestableEntitlement: new Set(['entitlement', 'connector', 'maxDurationSeconds', 'requireDuration', 'approvalSteps']),
};

/**
 * For a member, refuses (FORBIDDEN, audited like every refusal) a selection below the field being
 * resolved that leaves MEMBER_VISIBLE_FIELDS; fragments and inline fragments are followed. Callers
 * with a platform role read everything they reach, so nothing is checked for them.
 */
export function requireMemberVisible(caller: Caller, info: GraphQLResolveInfo): void {
  if (caller.role !== MEMBER) return;
  const visited = new Set<string>();
  const walk = (type: GraphQLNamedType, set: SelectionSetNode | undefined): void => {
    if (!set) return;
    for (const sel of set.selections) {
      if (sel.kind === 'InlineFragment') {
        const t = sel.typeCondition ? info.schema.getType(sel.typeCondition.name.value) : type;
        walk(t ?? type, sel.selectionSet);
      } else if (sel.kind === 'FragmentSpread') {
        const fragment = info.fragments[sel.name.value];
        if (!fragment || visited.has(`${type.name}:${sel.name.value}`)) continue;
        visited.add(`${type.name}:${sel.name.value}`);
        walk(info.schema.getType(fragment.typeCondition.name.value) ?? type, fragment.selectionSet);
      } else {
        field(type, sel);
      }
    }
  };
  const field = (type: GraphQLNamedType, node: FieldNode): void => {
    const name = node.name.value;
    if (name === '__typename') return;
    if (!MEMBER_VISIBLE_FIELDS[type.name]?.has(name) || !isObjectType(type))
      throw new ForbiddenError(`${MEMBER_REFUSAL} (${type.name}.${name} is not readable by members)`);
    const def = type.getFields()[name];
    if (def) walk(getNamedType(def.type), node.selectionSet);
  };
  const root = getNamedType(info.returnType);
  for (const node of info.fieldNodes) walk(root, node.selectionSet);
}
