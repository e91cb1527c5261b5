import { Extensions, Field, ID, ObjectType } from 'type-graphql';
import { reads } from '../../response-cache/read-scope';
import type { ProvisioningAction, ProvisioningStatus, ProvisioningTaskRow } from '@warden/database';
import { ProvisioningActionEnum, ProvisioningStatusEnum } from '../shared/enums';
import { DateTimeScalar } from '../shared/scalars';
import { asDate } from '../shared/dates';

@Extensions(reads('provisioning_tasks'))
@ObjectType({ simpleResolvers: true })
export class ProvisioningTask {
  @Field(() => ID)
  id!: string;

  @Field(() => ProvisioningActionEnum)
  action!: ProvisioningAction;

  @Field(() => ProvisioningStatusEnum)
  status!: ProvisioningStatus;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => String)
  requestedBy!: string;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => String)
  idempotencyKey!: string;

  @Field(() => DateTimeScalar)
  requestedAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  completedAt!: Date | null;

  connectorId!: string;
  entitlementId!: string;
  entitlementKey!: string;
  principalId!: string;
  principalExternalId!: string;
}

export function toProvisioningTask(row: ProvisioningTaskRow): ProvisioningTask {
  return {
    id: row.id,
    connectorId: row.connector_id,
    action: row.action,
    status: row.status,
    error: row.error,
    requestedBy: row.requested_by,
    reason: row.reason,
    expiresAt: row.expires_at,
    idempotencyKey: row.idempotency_key,
    requestedAt: asDate(row.requested_at),
    completedAt: row.completed_at,
    entitlementId: row.entitlement_id,
    entitlementKey: row.entitlement_key,
    principalId: row.principal_id,
    principalExternalId: row.principal_external_id,
  };
}
