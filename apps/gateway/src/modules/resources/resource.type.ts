import { Extensions, Field, ID, ObjectType } from 'type-graphql';
import { reads } from '../../response-cache/read-scope';
import type { ResourceRow, ResourceType } from '@warden/database';
import { connectionTypes } from '../../pagination/connection-types';
import type { PrefetchedGrants } from '../grants/prefetch';
import { ResourceTypeEnum } from '../shared/enums';
import { asInstance } from '../shared/instance';

@Extensions(reads('resources'))
@ObjectType({ simpleResolvers: true })
export class Resource {
  @Field(() => ID)
  id!: string;

  @Field(() => ResourceTypeEnum)
  type!: ResourceType;

  @Field(() => String, { description: "The object's id in Microsoft Graph." })
  externalId!: string;

  @Field(() => String)
  displayName!: string;

  /** Served by ResourceResolver.profile, which loads it when the row came without it (see RESOURCE_BRIEF_COLUMNS). */
  profile?: Record<string, unknown>;

  /** Not a GraphQL field: field resolvers follow it to the connector. */
  connectorId!: string;
  /** The page of what it holds, when `resource(id)` fetched it with the resource (see GrantService.pageUnder). */
  grantsPage?: PrefetchedGrants;
}

export type ResourceListRow = Pick<ResourceRow, 'id' | 'connector_id' | 'type' | 'external_id' | 'display_name'> & {
  profile?: ResourceRow['profile'];
};
export const RESOURCE_COLUMNS = ['id', 'connector_id', 'type', 'external_id', 'display_name', 'profile'] as const;
/**
 * What a page of grants joins for its principals and the entitlements' resources: all but `profile`,
 * which few dashboards show on such pages and whose JSON was a third of a page's cost to parse.
 */
export const RESOURCE_BRIEF_COLUMNS = ['id', 'connector_id', 'type', 'external_id', 'display_name'] as const;

export function toResource(row: ResourceListRow): Resource {
  return asInstance(Resource, {
    id: row.id,
    connectorId: row.connector_id,
    type: row.type,
    externalId: row.external_id,
    displayName: row.display_name,
    ...(row.profile !== undefined ? { profile: row.profile } : {}),
  });
}

const SP_TYPE: ResourceType = 'ENTERPRISE_APPLICATION';

/**
 * A grant can name a principal the sync has not stored (yet): the page still renders, with the Graph
 * id as name, instead of failing the whole query on a non-null field.
 */
export function placeholderResource(
  connectorId: string,
  externalId: string,
  kind: 'USER' | 'GROUP' | 'SERVICE_PRINCIPAL' | ResourceType,
): Resource {
  const type: ResourceType = kind === 'SERVICE_PRINCIPAL' ? SP_TYPE : kind;
  return asInstance(Resource, {
    id: `unsynced:${connectorId}:${externalId}`,
    connectorId,
    type,
    externalId,
    displayName: externalId,
    profile: {},
  });
}

export const { EdgeType: ResourceEdge, ConnectionType: ResourceConnection } = connectionTypes(Resource, 'Resource');
