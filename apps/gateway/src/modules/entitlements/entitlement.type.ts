import { Extensions, Field, ID, ObjectType } from 'type-graphql';
import { reads } from '../../response-cache/read-scope';
import { RESOURCE_TYPES, type EntitlementRow, type ResourceType } from '@warden/database';
import type { PrefetchedGrants } from '../grants/prefetch';
import { JSONScalar } from '../shared/scalars';
import { asInstance } from '../shared/instance';

@Extensions(reads('entitlements'))
@ObjectType({ simpleResolvers: true })
export class Entitlement {
  @Field(() => ID)
  id!: string;

  @Field(() => String, {
    description:
      "member | owner for groups; owner | assigned | the app role's value for enterprise apps; assigned | eligible for directory roles.",
  })
  slug!: string;

  @Field(() => String)
  displayName!: string;

  @Field(() => Boolean, { description: 'Whether provisioning can grant and revoke it.' })
  grantable!: boolean;

  @Field(() => String, { description: 'Stable natural key: <RESOURCE_TYPE>:<graph id>:<slug>.' })
  key!: string;

  @Field(() => JSONScalar, {
    description:
      'What provisioning needs to know: allowedMemberTypes, unifiedGroup, roleAssignable; for a role over an administrative unit or application (slug assigned@<directoryScopeId>): directoryScopeId, scopeType, scopeId, scopeDisplayName, scopeAllowed.',
  })
  metadata!: Record<string, unknown>;

  connectorId!: string;
  resourceExternalId!: string;
  resourceType!: ResourceType;
  /** The holders page, when `entitlement(id)` fetched it with the entitlement (see GrantService.pageUnder). */
  grantsPage?: PrefetchedGrants;
}

export type EntitlementListRow = Pick<
  EntitlementRow,
  'id' | 'connector_id' | 'key' | 'resource_external_id' | 'resource_type' | 'slug' | 'display_name' | 'grantable' | 'metadata'
>;
export const ENTITLEMENT_COLUMNS = [
  'id',
  'connector_id',
  'key',
  'resource_external_id',
  'resource_type',
  'slug',
  'display_name',
  'grantable',
  'metadata',
] as const;

export function toEntitlement(row: EntitlementListRow): Entitlement {
  return asInstance(Entitlement, {
    id: row.id,
    connectorId: row.connector_id,
    key: row.key,
    resourceExternalId: row.resource_external_id,
    resourceType: row.resource_type,
    slug: row.slug,
    displayName: row.display_name,
    grantable: row.grantable,
    metadata: row.metadata,
  });
}

/**
 * An entitlement that sync has since deleted (its group or app is gone from Entra), told from its
 * natural key `<RESOURCE_TYPE>:<graph id>:<slug>`: a review item keeps the snapshot it was created
 * with, and one vanished entitlement must not blank out a reviewer's whole queue.
 */
export function placeholderEntitlement(connectorId: string, id: string, key: string): Entitlement {
  const [type = '', externalId = '', ...slug] = key.split(':');
  const resourceType = (RESOURCE_TYPES as readonly string[]).includes(type) ? (type as ResourceType) : null;
  return {
    id,
    connectorId,
    key,
    resourceExternalId: externalId,
    // An unknown type cannot come from the key format; GROUP keeps the Resource non-null all the same.
    resourceType: resourceType ?? 'GROUP',
    slug: slug.join(':'),
    displayName: `${slug.join(':')} (no longer synced)`,
    grantable: false,
    metadata: {},
  };
}
