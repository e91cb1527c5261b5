import { Field, ID, InputType, Int } from 'type-graphql';
import type { DeciderKind, ResourceType, UndecidedAction } from '@warden/database';
import { DeciderKindEnum } from '../deciders/decider.type';
import { ResourceTypeEnum } from '../shared/enums';
import { UndecidedActionEnum } from './review.type';

@InputType()
export class AccessReviewInput {
  @Field(() => String)
  name!: string;

  @Field(() => ID)
  connectorId!: string;

  @Field(() => [ID], { nullable: true, description: 'Review the direct grants of these entitlements ...' })
  entitlementIds?: string[] | null;

  @Field(() => [ResourceTypeEnum], {
    nullable: true,
    description: '... or of every grantable entitlement offered by resources of these types. One of the two is required.',
  })
  resourceTypes?: ResourceType[] | null;

  @Field(() => DeciderKindEnum)
  reviewers!: DeciderKind;

  @Field(() => [String], { description: 'Required: the reviewers for USERS, and the fallback for the other kinds.' })
  fallbackSubjects!: string[];

  @Field(() => Date)
  dueAt!: Date;

  @Field(() => Boolean, { nullable: true, defaultValue: true })
  autoRevoke?: boolean | null;

  @Field(() => UndecidedActionEnum, { nullable: true, defaultValue: 'KEEP' })
  undecided?: UndecidedAction | null;

  @Field(() => Int, { nullable: true, defaultValue: 30 })
  inactiveDays?: number | null;
}
