import { ArgsType, Field, Int } from 'type-graphql';

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

@ArgsType()
export class GrantPageArgs extends PageArgs {
  @Field(() => Boolean, { nullable: true, defaultValue: true })
  includeInherited?: boolean | null;
}
