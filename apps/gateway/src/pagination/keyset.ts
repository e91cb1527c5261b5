import { sql, type RawBuilder } from 'kysely';

/**
 * A timestamp as sortable text with microseconds: JavaScript dates keep milliseconds only, and a
 * cursor that loses precision would repeat or skip rows that share a millisecond.
 */
export function timestampKey(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export function isTimestampKey(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(v);
}
