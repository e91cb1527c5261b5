import { Extensions, Field, ID, ObjectType } from 'type-graphql';
import { reads } from '../../response-cache/read-scope';
import type { AuditEventRow } from '@warden/database';
import { connectionTypes } from '../../pagination/connection-types';
import { asDate } from '../shared/dates';
import { DateTimeScalar, JSONScalar } from '../shared/scalars';

@Extensions(reads('audit_events'))
@ObjectType({ simpleResolvers: true, description: 'Append-only record of every access change and administrative action.' })
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => DateTimeScalar)
  at!: Date;

  @Field(() => String, { description: "Token subject of the caller, or 'system' (e.g. expiry of a just-in-time grant)." })
  actor!: string;

  @Field(() => String, { description: 'e.g. connector.created, grant.requested, grant.succeeded, revoke.failed, grant.expired' })
  action!: string;

  @Field(() => JSONScalar)
  details!: Record<string, unknown>;

  connectorId!: string | null;
}

export function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: String(row.id),
    at: asDate(row.at),
    actor: row.actor,
    action: row.action,
    details: row.details,
    connectorId: row.connector_id,
  };
}

export const { EdgeType: AuditEventEdge, ConnectionType: AuditEventConnection } = connectionTypes(AuditEvent, 'AuditEvent');
