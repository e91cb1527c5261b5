import { Field, ObjectType } from 'type-graphql';
import { Resource } from '../resources/resource.type';

@ObjectType({ description: 'The caller.' })
export class Me {
  @Field(() => String)
  subject!: string;

  @Field(() => [String])
  roles!: string[];

  @Field(() => String, { nullable: true })
  displayName!: string | null;

  @Field(() => [Resource], {
    description: 'The USER resources that are the caller (one per connector whose tenant the caller belongs to).',
  })
  identities!: Resource[];
}
