import pg from 'pg';
import { Extensions, Field, ID, ObjectType } from 'type-graphql';
import { reads } from '../../response-cache/read-scope';
import type { GrantRow, PrincipalKind } from '@warden/database';
import { connectionTypes } from '../../pagination/connection-types';
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

/**
 * A page row: `via`, `expires_at` and `created_at` come as text (GRANT_TEXT_COLUMNS) and are parsed
 * only when the answer asks for them. pg parses every column of every row it receives, and these
 * three (two timestamps and an array) cost about as much as all the rest of a holders page's rows
 * (0.2 ms of a 51-row page's 0.4 ms on the M tenant) while a dashboard rarely shows them.
 */
export type GrantListRow = Pick<
  GrantRow,
  'id' | 'connector_id' | 'entitlement_key' | 'principal_external_id' | 'principal_kind' | 'direct'
> & {
  via: string;
  expires_at: string | null;
  created_at: string;
};
export const GRANT_COLUMNS = ['id', 'connector_id', 'entitlement_key', 'principal_external_id', 'principal_kind', 'direct'] as const;
export const GRANT_TEXT_COLUMNS = ['via', 'expires_at', 'created_at'] as const;

// pg's own parsers, so a value reads exactly as if pg had parsed the column.
const parseTimestamp = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (v: string) => Date;
// text[] (oid 1009) has no name in pg.types.builtins.
const parseTextArray = pg.types.getTypeParser(1009 as Parameters<typeof pg.types.getTypeParser>[0]) as (v: string) => string[];

interface PageGrantState {
  row: GrantListRow;
  via?: string[];
  expiresAt?: Date | null;
  createdAt?: Date;
}

/**
 * A Grant whose three text columns are parsed on first read. Still a Grant (type-graphql passes a
 * field resolver's root through unchanged only when it is an instance of the declared class; it
 * copies anything else into a new one, which would drop getters). Built with Object.create, not
 * Grant's constructor, whose field initializers would define the three as own properties that hide
 * the getters.
 */
const PAGE_GRANT: object = Object.create(Grant.prototype, {
  viaKeys: {
    get(this: { lazy: PageGrantState }): string[] {
      return (this.lazy.via ??= parseTextArray(this.lazy.row.via));
    },
  },
  expiresAt: {
    get(this: { lazy: PageGrantState }): Date | null {
      const l = this.lazy;
      if (l.expiresAt === undefined) l.expiresAt = l.row.expires_at === null ? null : parseTimestamp(l.row.expires_at);
      return l.expiresAt;
    },
  },
  createdAt: {
    get(this: { lazy: PageGrantState }): Date {
      return (this.lazy.createdAt ??= parseTimestamp(this.lazy.row.created_at));
    },
  },
}) as object;

export function toGrant(row: GrantListRow): Grant {
  const g = Object.create(PAGE_GRANT) as Grant & { lazy: PageGrantState };
  g.id = row.id;
  g.direct = row.direct;
  g.connectorId = row.connector_id;
  g.entitlementKey = row.entitlement_key;
  g.principalExternalId = row.principal_external_id;
  g.principalKind = row.principal_kind;
  g.lazy = { row };
  return g;
}

export const { EdgeType: GrantEdge, ConnectionType: GrantConnection } = connectionTypes(Grant, 'Grant');
