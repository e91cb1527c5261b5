/**
 * @warden/database declares some columns as Generated<ColumnType<Date,…>>, which Kysely's Selectable
 * leaves as the ColumnType wrapper instead of Date; pg returns a Date at run time.
 */
export function asDate(v: unknown): Date {
  return v as Date;
}
