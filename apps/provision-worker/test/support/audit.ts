import { sql, type RawBuilder } from 'kysely';

/** `details @> {…}`: audit rows about one task (jsonb containment). */
export function detailsContain(fields: Record<string, unknown>): RawBuilder<boolean> {
  return sql<boolean>`details @> ${JSON.stringify(fields)}::jsonb`;
}
