import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { DECIDER_KINDS } from '@warden/database';
import { Resource } from '../resources/resource.type';

// Shared by access requests (approval steps) and access reviews (item reviewers): one home for
// "who decides", so both workflows describe deciders the same way.
export const DeciderKindEnum = Object.fromEntries(DECIDER_KINDS.map((k) => [k, k])) as {
  [K in (typeof DECIDER_KINDS)[number]]: K;
};

registerEnumType(DeciderKindEnum, {
  name: 'DeciderKind',
  description: [
    'Who decides an approval step or a review item:',
    "- MANAGER: the principal's manager in Entra (synced from Microsoft Graph);",
    '- RESOURCE_OWNER: the Entra owners of the resource that offers the entitlement (group owners,',
    '  enterprise-application owners); for directory roles there are none, so the fallback decides;',
    "- CONNECTOR_OWNER: the connector's owners (platform users);",
    '- USERS: the listed platform users (token subjects).',
    'When a rule resolves to nobody (no manager, no owners), the listed fallback subjects decide.',
  ].join('\n'),
});

@ObjectType({ description: 'One person who may decide: an Entra user (a synced USER resource) or a platform user (a token subject).' })
export class Decider {
  @Field(() => String, { nullable: true, description: 'Set for platform users.' })
  subject!: string | null;

  @Field(() => Resource, { nullable: true, description: 'Set for Entra users.' })
  user!: Resource | null;

  @Field(() => String)
  displayName!: string;
}
