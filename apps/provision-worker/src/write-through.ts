import { sql, type Transaction } from 'kysely';
import { recomputeInheritedMemberships, type EntitlementKind } from '@warden/access-model';
import type { Database, PrincipalKind } from '@warden/database';

export interface WriteThroughInput {
  connectorId: string;
  kind: EntitlementKind;
  entitlementKey: string;
  principalExternalId: string;
  principalKind: PrincipalKind;
  expiresAt: Date | null;
  graphAssignmentId: string | null;
  /**
   * Graph already held the grant before this task touched it (a duplicate answer on the first
   * attempt). A just-in-time request must not put an expiry on access that was permanent.
   */
  heldBefore: boolean;
}

/**
 * Makes our grant rows say what Graph now says, in the transaction that marks the task
 * SUCCEEDED, so a query right after the event already sees it; the next sync confirms.
 */
export async function writeGrant(trx: Transaction<Database>, w: WriteThroughInput): Promise<void> {
  const existing = await trx
    .selectFrom('grants')
    .select(['id', 'expires_at', 'graph_assignment_id'])
    .where('connector_id', '=', w.connectorId)
    .where('entitlement_key', '=', w.entitlementKey)
    .where('principal_external_id', '=', w.principalExternalId)
    .where('direct', '=', true)
    .forUpdate()
    .executeTakeFirst();
  if (existing) {
    const keepPermanent = w.heldBefore && existing.expires_at === null;
    await trx
      .updateTable('grants')
      .set({
        expires_at: keepPermanent ? null : w.expiresAt,
        graph_assignment_id: w.graphAssignmentId ?? existing.graph_assignment_id,
        principal_kind: w.principalKind,
        updated_at: sql`now()`,
      })
      .where('id', '=', existing.id)
      .execute();
  } else {
    await trx
      .insertInto('grants')
      .values({
        connector_id: w.connectorId,
        entitlement_key: w.entitlementKey,
        principal_external_id: w.principalExternalId,
        principal_kind: w.principalKind,
        direct: true,
        expires_at: w.heldBefore ? null : w.expiresAt,
        graph_assignment_id: w.graphAssignmentId,
        source: 'provisioning',
      })
      .execute();
  }
  if (w.kind === 'GROUP_MEMBER') {
    await recomputeInheritedMemberships(trx, w.connectorId, [{ id: w.principalExternalId, kind: w.principalKind }]);
  }
}

export async function writeRevoke(
  trx: Transaction<Database>,
  w: Omit<WriteThroughInput, 'expiresAt' | 'graphAssignmentId' | 'heldBefore'>,
): Promise<void> {
  await trx
    .deleteFrom('grants')
    .where('connector_id', '=', w.connectorId)
    .where('entitlement_key', '=', w.entitlementKey)
    .where('principal_external_id', '=', w.principalExternalId)
    .where('direct', '=', true)
    .execute();
  if (w.kind === 'GROUP_MEMBER') {
    await recomputeInheritedMemberships(trx, w.connectorId, [{ id: w.principalExternalId, kind: w.principalKind }]);
  }
}
