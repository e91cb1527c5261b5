/** A review operation refused; `code` maps onto the GraphQL contract's error codes. */
export class ReviewError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'CONFLICT',
    message: string,
  ) {
    super(message);
    this.name = 'ReviewError';
  }
}

/** Who acts on a review: the token's subject and role, and its Entra tenant and object id when it has them. */
export interface ReviewActor {
  subject: string;
  /** SUPER_ADMIN, CONNECTOR_ADMIN, VIEWER or MEMBER. */
  role: string;
  tid?: string | null;
  oid?: string | null;
}

/** The actor of what the system does by itself (defaults at completion, the dueAt timer). */
export const REVIEW_SYSTEM_ACTOR = 'system';

/** The caller's Graph object id in a connector: its `oid` when its `tid` is the connector's tenant. */
export function actorOidIn(
  actor: Pick<ReviewActor, 'tid' | 'oid'>,
  connector: { tenant_id: string | null; consented_tenant_id: string | null },
): string | null {
  if (!actor.tid || !actor.oid) return null;
  const tid = actor.tid.toLowerCase();
  const match = connector.tenant_id?.toLowerCase() === tid || connector.consented_tenant_id?.toLowerCase() === tid;
  return match ? actor.oid : null;
}

/** SUPER_ADMIN, or a CONNECTOR_ADMIN who owns the connector: may create, complete, cancel and decide anything in it. */
export function isConnectorAdmin(actor: Pick<ReviewActor, 'subject' | 'role'>, connector: { owners: string[] }): boolean {
  return actor.role === 'SUPER_ADMIN' || (actor.role === 'CONNECTOR_ADMIN' && connector.owners.includes(actor.subject));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(v: string): boolean {
  return UUID.test(v);
}
