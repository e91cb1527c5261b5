import { readFileSync } from 'node:fs';

/**
 * Test only (the chaos suite's clock jumps): a clock that runs `offset` milliseconds ahead of the
 * real one, where `offset` is the number in `file` (re-read at most every `refreshMs`, so a jump
 * reaches a running process within that time; a missing or unreadable file means no offset).
 * `GOVERNANCE_TEST_CLOCK_OFFSET_FILE` turns it on; the environment refuses it with NODE_ENV=production.
 */
export function offsetClock(file: string, refreshMs = 200, realNow: () => number = Date.now): () => Date {
  let offset = 0;
  let readAt = Number.NEGATIVE_INFINITY;
  return () => {
    const t = realNow();
    if (t - readAt >= refreshMs) {
      readAt = t;
      try {
        const n = Number(readFileSync(file, 'utf8').trim());
        offset = Number.isFinite(n) ? n : 0;
      } catch {
        offset = 0;
      }
    }
    return new Date(t + offset);
  };
}
