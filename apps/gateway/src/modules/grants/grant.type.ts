import { Extensions, Field, ID, ObjectType } from 'type-graphql';
import { reads } from '../../response-cache/read-scope';
import type { GrantRow, PrincipalKind } from '@warden/database';
import { connectionTypes } from '../../pagination/connection-types';
import { asDate } from '../shared/dates';
import { DateTimeScalar } from '../shared/scalars';

@Extensions(reads('grants'))
@ObjectType({ simpleResolvers: true })
export class Grant {
  @Field(() => ID)
  id!: string;

  @Field(() => Boolean, { description: 'False when held only through nested group membership.' })
  direct!: boolean;

  @Field(() => DateTimeScalar, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  connectorId!: string;
  entitlementKey!: string;
  principalExternalId!: string;
  principalKind!: PrincipalKind;
  viaKeys!: string[];
}

export type GrantListRow = Pick<
  GrantRow,
  'id' | 'connector_id' | 'entitlement_key' | 'principal_external_id' | 'principal_kind' | 'direct' | 'via' | 'expires_at' | 'created_at'
>;
export const GRANT_COLUMNS = [
  'id',
  'connector_id',
  'entitlement_key',
  'principal_external_id',
  'principal_kind',
  'direct',
  'via',
  'expires_at',
  'created_at',
] as const;

export function toGrant(row: GrantListRow): Grant {
  return {
    id: row.id,
    connectorId: row.connector_id,
    entitlementKey: row.entitlement_key,
    principalExternalId: row.principal_external_id,
    principalKind: row.principal_kind,
    direct: row.direct,
    viaKeys: row.via,
    expiresAt: row.expires_at,
    createdAt: asDate(row.created_at),
  };
}

export const { EdgeType: GrantEdge, ConnectionType: GrantConnection } = connectionTypes(Grant, 'Grant');
