import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  ACCESS_REVIEW_STATUSES,
  REVIEW_DECISIONS,
  UNDECIDED_ACTIONS,
  type AccessReviewItemRow,
  type AccessReviewRow,
  type AccessReviewStatus,
  type DeciderKind,
  type ReviewDecision,
  type UndecidedAction,
} from '@warden/database';
import { connectionTypes } from '../../pagination/connection-types';
import { DeciderKindEnum } from '../deciders/decider.type';
import { asInstance } from '../shared/instance';

const asEnum = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };
export const ReviewDecisionEnum = asEnum(REVIEW_DECISIONS);
export const UndecidedActionEnum = asEnum(UNDECIDED_ACTIONS);
export const AccessReviewStatusEnum = asEnum(ACCESS_REVIEW_STATUSES);
registerEnumType(ReviewDecisionEnum, { name: 'ReviewDecision' });
registerEnumType(UndecidedActionEnum, {
  name: 'UndecidedAction',
  description: 'What happens, when a review completes, to the items nobody decided.',
  valuesConfig: { RECOMMENDATION: { description: "Apply the item's recommendation (KEEP where there is none)." } },
});
registerEnumType(AccessReviewStatusEnum, {
  name: 'AccessReviewStatus',
  valuesConfig: { COMPLETING: { description: 'Completed by a person or by reaching dueAt; revocations are being applied.' } },
});

@ObjectType({ simpleResolvers: true })
export class AccessReviewProgress {
  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  decided!: number;

  @Field(() => Int)
  kept!: number;

  @Field(() => Int)
  revoked!: number;

  @Field(() => Int, { description: 'Revocations carried out in the tenant.' })
  remediated!: number;

  @Field(() => Int)
  remediationFailed!: number;

  @Field(() => Int, {
    description: 'Revocations carried out whose grant a later sync found back in the tenant (flagged; see the audit log).',
  })
  regranted!: number;
}

@ObjectType()
export class AccessReview {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => AccessReviewStatusEnum)
  status!: AccessReviewStatus;

  @Field(() => DeciderKindEnum)
  reviewers!: DeciderKind;

  @Field(() => [String])
  fallbackSubjects!: string[];

  @Field(() => Date)
  dueAt!: Date;

  @Field(() => Boolean, { description: 'Revoke in the tenant, when the review completes, every grant decided (or defaulted to) REVOKE.' })
  autoRevoke!: boolean;

  @Field(() => UndecidedActionEnum)
  undecided!: UndecidedAction;

  @Field(() => Int, { description: 'Principals with no sign-in for this many days are recommended for REVOKE.' })
  inactiveDays!: number;

  @Field(() => String)
  createdBy!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  completedAt!: Date | null;

  connectorId!: string;
}

@ObjectType({ description: 'One direct grant under review, as it stood when the review started.' })
export class AccessReviewItem {
  @Field(() => ID)
  id!: string;

  @Field(() => ReviewDecisionEnum, { nullable: true })
  recommendation!: ReviewDecision | null;

  @Field(() => String, {
    nullable: true,
    description: "Why, in words a reviewer understands, e.g. 'no sign-in for 112 days', 'account disabled'.",
  })
  recommendationReason!: string | null;

  @Field(() => Date, { nullable: true, description: "The principal's last sign-in, as synced; null when unknown or never." })
  lastSignInAt!: Date | null;

  @Field(() => ReviewDecisionEnum, { nullable: true })
  decision!: ReviewDecision | null;

  @Field(() => String, { nullable: true, description: "Token subject of the decider, or 'system' for a default applied at completion." })
  decidedBy!: string | null;

  @Field(() => String, { nullable: true })
  comment!: string | null;

  @Field(() => Date, { nullable: true })
  decidedAt!: Date | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Group principals: how many principals hold the entitlement through this group (inherited access is reviewed here).',
  })
  inheritedCount!: number | null;

  @Field(() => String, { nullable: true, description: 'Why the revoke of a REVOKE decision could not be requested (e.g. not grantable).' })
  remediationError!: string | null;

  @Field(() => Date, {
    nullable: true,
    description: 'Set when a sync after a successful revoke found the grant back in the tenant (someone re-added it).',
  })
  regrantedAt!: Date | null;

  reviewId!: string;
  connectorId!: string;
  entitlementId!: string;
  entitlementKey!: string;
  principalId!: string;
  principalExternalId!: string;
  principalKind!: AccessReviewItemRow['principal_kind'];
  reviewerOids!: string[];
  reviewerSubjects!: string[];
  remediationTaskId!: string | null;
}

export const { ConnectionType: AccessReviewConnection } = connectionTypes(AccessReview, 'AccessReview');
export const { ConnectionType: AccessReviewItemConnection } = connectionTypes(AccessReviewItem, 'AccessReviewItem');

export function toAccessReview(row: AccessReviewRow): AccessReview {
  return asInstance(AccessReview, {
    id: row.id,
    name: row.name,
    status: row.status,
    reviewers: row.reviewers,
    fallbackSubjects: row.fallback_subjects,
    dueAt: row.due_at,
    autoRevoke: row.auto_revoke,
    undecided: row.undecided,
    inactiveDays: row.inactive_days,
    createdBy: row.created_by,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    connectorId: row.connector_id,
  });
}

export function toAccessReviewItem(row: AccessReviewItemRow): AccessReviewItem {
  return asInstance(AccessReviewItem, {
    id: row.id,
    recommendation: row.recommendation,
    recommendationReason: row.recommendation_reason,
    lastSignInAt: row.last_sign_in_at,
    decision: row.decision,
    decidedBy: row.decided_by,
    comment: row.comment,
    decidedAt: row.decided_at,
    inheritedCount: row.inherited_count,
    remediationError: row.remediation_error,
    regrantedAt: row.regranted_at,
    reviewId: row.review_id,
    connectorId: row.connector_id,
    entitlementId: row.entitlement_id,
    entitlementKey: row.entitlement_key,
    principalId: row.principal_id,
    principalExternalId: row.principal_external_id,
    principalKind: row.principal_kind,
    reviewerOids: row.reviewer_oids,
    reviewerSubjects: row.reviewer_subjects,
    remediationTaskId: row.remediation_task_id,
  });
}
