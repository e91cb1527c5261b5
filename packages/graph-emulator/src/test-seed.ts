/**
 * The seed a randomized test draws from: `TEST_SEED` when given (to replay a failure), otherwise a
 * fresh one. It is printed either way, so every failing run says how to reproduce it.
 */
export function testSeed(label: string): number {
  const given = process.env['TEST_SEED'];
  const seed = given !== undefined && given !== '' ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 31);
  console.log(`[${label}] seed ${seed} (replay with TEST_SEED=${seed})`);
  return seed;
}
