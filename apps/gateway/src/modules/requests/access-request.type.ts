import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ACCESS_REQUEST_STATUSES, type AccessRequestRow, type AccessRequestStatus } from '@warden/database';
import { connectionTypes } from '../../pagination/connection-types';
import { asDate } from '../shared/dates';
import { DateTimeScalar } from '../shared/scalars';

export const AccessRequestStatusEnum = Object.fromEntries(ACCESS_REQUEST_STATUSES.map((s) => [s, s])) as {
  [K in AccessRequestStatus]: K;
};

registerEnumType(AccessRequestStatusEnum, {
  name: 'AccessRequestStatus',
  valuesConfig: {
    PENDING: { description: "Waiting for the current step's decision." },
    APPROVED: { description: 'Approved; the grant is being provisioned.' },
    ACTIVE: { description: 'Granted. Time-bound access has expiresAt.' },
    FAILED: { description: 'Provisioning failed; provisioningTask.error says why.' },
    EXPIRED: { description: 'Time-bound access ended and was revoked.' },
  },
});

@ObjectType({ simpleResolvers: true })
export class ApprovalDecision {
  @Field(() => Int, { description: '0-based index of the step.' })
  step!: number;

  @Field(() => String, { description: 'Token subject of the decider.' })
  actor!: string;

  @Field(() => Boolean)
  approved!: boolean;

  @Field(() => String, { nullable: true })
  comment!: string | null;

  @Field(() => DateTimeScalar)
  at!: Date;
}

@ObjectType()
export class AccessRequest {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'Token subject of the requester.' })
  requestedBy!: string;

  @Field(() => String)
  justification!: string;

  @Field(() => Int, { nullable: true, description: 'Requested length of access; null: permanent.' })
  durationSeconds!: number | null;

  @Field(() => AccessRequestStatusEnum)
  status!: AccessRequestStatus;

  @Field(() => Int, { nullable: true, description: '0-based index of the step waiting for a decision; null when none is.' })
  currentStep!: number | null;

  @Field(() => DateTimeScalar, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;

  row!: AccessRequestRow;
}

export function toAccessRequest(row: AccessRequestRow): AccessRequest {
  return {
    id: row.id,
    requestedBy: row.requested_by,
    justification: row.justification,
    durationSeconds: row.duration_seconds,
    status: row.status,
    currentStep: row.current_step,
    expiresAt: row.expires_at ? asDate(row.expires_at) : null,
    createdAt: asDate(row.created_at),
    updatedAt: asDate(row.updated_at),
    row,
  };
}

export const { EdgeType: AccessRequestEdge, ConnectionType: AccessRequestConnection } = connectionTypes(AccessRequest, 'AccessRequest');

@InputType()
export class AccessRequestInput {
  @Field(() => ID)
  entitlementId!: string;

  @Field(() => ID, { nullable: true, description: "Defaults to the caller's own identity in the entitlement's connector." })
  principalId?: string | null;

  @Field(() => String)
  justification!: string;

  @Field(() => Int, { nullable: true, description: 'null: permanent (refused when the policy requires a duration).' })
  durationSeconds?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Repeating a request with the same key returns the same request and changes nothing.',
  })
  idempotencyKey?: string | null;
}
