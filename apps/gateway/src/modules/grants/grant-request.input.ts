import { Field, ID, InputType } from 'type-graphql';
import { DateTimeScalar } from '../shared/scalars';

@InputType()
export class GrantInput {
  @Field(() => ID)
  entitlementId!: string;

  @Field(() => ID)
  principalId!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Just-in-time access: the grant is revoked automatically at this time.' })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true })
  reason?: string | null;

  @Field(() => String, { nullable: true, description: 'Repeating a request with the same key returns the same task and changes nothing.' })
  idempotencyKey?: string | null;
}

@InputType()
export class RevokeInput {
  @Field(() => ID)
  entitlementId!: string;

  @Field(() => ID)
  principalId!: string;

  @Field(() => String, { nullable: true })
  reason?: string | null;

  @Field(() => String, { nullable: true })
  idempotencyKey?: string | null;
}
