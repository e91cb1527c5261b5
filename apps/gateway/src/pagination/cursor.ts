import { BadUserInputError } from '../errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** The contract's `first`: default 50, at most 500; anything else is the caller's mistake. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0) throw new BadUserInputError('`first` must be a non-negative integer');
  if (first > MAX_PAGE_SIZE) throw new BadUserInputError(`\`first\` may be at most ${MAX_PAGE_SIZE} (got ${first})`);
  return first;
}

export type CursorValue = string | number;

/** Opaque keyset cursor: the sort-key values of the last row seen, base64url JSON. */
export function encodeCursor(values: CursorValue[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined, shape: Array<'string' | 'number'>): CursorValue[] | null {
  if (cursor === null || cursor === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadUserInputError('`after` is not a cursor returned by this API');
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length || parsed.some((v, i) => typeof v !== shape[i])) {
    throw new BadUserInputError('`after` is not a cursor returned by this API');
  }
  return parsed as CursorValue[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(v: string): boolean {
  return UUID.test(v);
}

/** Cursor for a uuid-ordered list; the uuid is checked so it never reaches SQL malformed. */
export function decodeIdCursor(after: string | null | undefined): string | null {
  const v = decodeCursor(after, ['string']);
  if (!v) return null;
  if (!isUuid(v[0] as string)) throw new BadUserInputError('`after` is not a cursor returned by this API');
  return v[0] as string;
}
