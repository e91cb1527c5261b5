/**
 * The bigrams of a resource's `search_text` as `resources.search_bigrams` stores them (migration
 * 0018), so that a two-character search's totalCount is one row of `resource_bigram_counts` instead
 * of a LIKE over every row of the connector. A bigram is two consecutive code points; it is kept only
 * if both are below U+8000, as `first * 32768 + second` (an exact, positive int4). A term with a code
 * point above that is counted by LIKE. The sync worker computes them here (in SQL it would cost
 * ~100 µs a row); `warden_search_bigrams(text)`, the same definition in SQL, fills them for any
 * other writer, and a test holds the two equal.
 */
export const BIGRAM_LIMIT = 0x8000;

/** Distinct bigram codes of `text`, ascending. */
export function searchBigrams(text: string): number[] {
  const codes = new Set<number>();
  let previous = -1;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (previous >= 0 && previous < BIGRAM_LIMIT && c < BIGRAM_LIMIT) codes.add(previous * BIGRAM_LIMIT + c);
    previous = c;
  }
  return [...codes].sort((a, b) => a - b);
}

/** The code of a search term that is exactly one indexed bigram, else null (the term is counted by LIKE). */
export function bigramOfTerm(term: string): number | null {
  const points = [...term];
  if (points.length !== 2) return null;
  const [a, b] = points.map((p) => p.codePointAt(0)!) as [number, number];
  return a < BIGRAM_LIMIT && b < BIGRAM_LIMIT ? a * BIGRAM_LIMIT + b : null;
}

/** `searchBigrams` as an int4[] literal, for a text staging column cast to int[]. */
export function searchBigramsLiteral(text: string): string {
  return `{${searchBigrams(text).join(',')}}`;
}
