import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import type { AccessPolicyRow, DeciderKind } from '@warden/database';
import { DeciderKindEnum } from '../deciders/decider.type';

@ObjectType({ simpleResolvers: true })
export class ApprovalStep {
  @Field(() => DeciderKindEnum)
  kind!: DeciderKind;

  @Field(() => [String], { description: 'The deciders for USERS, and the fallback for the other kinds.' })
  subjects!: string[];
}

@ObjectType({ description: 'How an entitlement may be requested. Every connector has a default policy (entitlement: null).' })
export class AccessPolicy {
  @Field(() => ID)
  id!: string;

  @Field(() => Boolean)
  requestable!: boolean;

  @Field(() => [ApprovalStep], { description: 'Every step must approve, in order. Empty: a request is approved at once (still audited).' })
  steps!: ApprovalStep[];

  @Field(() => Int, { nullable: true, description: 'The longest access one request may ask for; null: no limit.' })
  maxDurationSeconds!: number | null;

  @Field(() => Boolean, { description: 'When true, a request must ask for a duration: no permanent access through requests.' })
  requireDuration!: boolean;

  connectorId!: string;
  entitlementId!: string | null;
}

export function toAccessPolicy(row: AccessPolicyRow): AccessPolicy {
  return {
    id: row.id,
    requestable: row.requestable,
    steps: row.steps.map((s) => ({ kind: s.kind, subjects: s.subjects })),
    maxDurationSeconds: row.max_duration_seconds,
    requireDuration: row.require_duration,
    connectorId: row.connector_id,
    entitlementId: row.entitlement_id,
  };
}

@InputType()
export class ApprovalStepInput {
  @Field(() => DeciderKindEnum)
  kind!: DeciderKind;

  @Field(() => [String], { nullable: true, defaultValue: [] })
  subjects?: string[] | null;
}

@InputType()
export class AccessPolicyInput {
  @Field(() => ID)
  connectorId!: string;

  @Field(() => ID, { nullable: true, description: "Omit for the connector's default policy." })
  entitlementId?: string | null;

  @Field(() => Boolean)
  requestable!: boolean;

  @Field(() => [ApprovalStepInput])
  steps!: ApprovalStepInput[];

  @Field(() => Int, { nullable: true })
  maxDurationSeconds?: number | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false })
  requireDuration?: boolean | null;
}
