/**
 * The grams of a resource's `search_text` as `resources.search_grams` stores them (migration 0018),
 * so that the totalCount of a two- or three-character search — the type-ahead's first keystrokes,
 * which the trigram index serves badly or not at all — is one row of `resource_gram_counts` instead
 * of a LIKE over the connector's rows. Codes, all distinct int4:
 * - a bigram, two consecutive code points both below U+8000: `a * 32768 + b` (positive);
 * - a trigram, three consecutive code points all below U+0080: `-(a * 16384 + b * 128 + c)` (negative).
 * A term outside these is counted by LIKE. The sync worker computes them here (in SQL it costs
 * ~100–200 µs a row); `warden_search_grams(text)`, the same definition in SQL, fills them for any
 * other writer, and a test holds the two equal.
 */
export const BIGRAM_LIMIT = 0x8000;
export const TRIGRAM_LIMIT = 0x80;

const bigram = (a: number, b: number) => (a < BIGRAM_LIMIT && b < BIGRAM_LIMIT ? a * BIGRAM_LIMIT + b : null);
const trigram = (a: number, b: number, c: number) =>
  a < TRIGRAM_LIMIT && b < TRIGRAM_LIMIT && c < TRIGRAM_LIMIT ? -(a * 16384 + b * 128 + c) : null;

/** Distinct gram codes of `text`, ascending. */
export function searchGrams(text: string): number[] {
  const codes = new Set<number>();
  let a = -1;
  let b = -1;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (b >= 0) {
      const g = bigram(b, c);
      if (g !== null) codes.add(g);
      if (a >= 0) {
        const t = trigram(a, b, c);
        if (t !== null) codes.add(t);
      }
    }
    a = b;
    b = c;
  }
  return [...codes].sort((x, y) => x - y);
}

/** The code of a search term that is exactly one stored gram, else null (the term is counted by LIKE). */
export function gramOfTerm(term: string): number | null {
  const p = [...term].map((ch) => ch.codePointAt(0)!);
  if (p.length === 2) return bigram(p[0]!, p[1]!);
  if (p.length === 3) return trigram(p[0]!, p[1]!, p[2]!);
  return null;
}

/** Gram codes as an int4[] literal, for a text staging column cast to int[]. */
export function gramsLiteral(codes: readonly number[]): string {
  return `{${codes.join(',')}}`;
}

/** `searchGrams` as an int4[] literal. */
export function searchGramsLiteral(text: string): string {
  return gramsLiteral(searchGrams(text));
}
