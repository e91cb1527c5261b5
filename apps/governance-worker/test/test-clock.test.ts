import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnvironment } from '../src/environment';
import { offsetClock } from '../src/test-clock';

// The chaos suite jumps the governance worker's clock through a file (GOVERNANCE_TEST_CLOCK_OFFSET_FILE).
const dir = mkdtempSync(path.join(tmpdir(), 'warden-test-clock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = {
  DATABASE_URL: 'postgres://x@127.0.0.1/x',
  WARDEN_SECRET_KEYS: `k1:${Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64')}`,
};

describe('test clock offset', () => {
  it('runs ahead by the number in the file, picks up a new number after its refresh, and no offset without a readable file', () => {
    const file = path.join(dir, 'offset');
    let real = 1_000_000;
    const clock = offsetClock(file, 200, () => real);
    expect(clock().getTime()).toBe(real);
    writeFileSync(file, '60000');
    real += 100;
    // Read less than 200 ms ago: the old offset still applies.
    expect(clock().getTime()).toBe(real);
    real += 200;
    expect(clock().getTime()).toBe(real + 60_000);
    writeFileSync(file, 'not a number');
    real += 200;
    expect(clock().getTime()).toBe(real);
  });

  it('is accepted in development and refused with NODE_ENV=production', () => {
    expect(parseEnvironment({ ...base, GOVERNANCE_TEST_CLOCK_OFFSET_FILE: '/tmp/x' }).GOVERNANCE_TEST_CLOCK_OFFSET_FILE).toBe('/tmp/x');
    expect(() => parseEnvironment({ ...base, NODE_ENV: 'production', GOVERNANCE_TEST_CLOCK_OFFSET_FILE: '/tmp/x' })).toThrow(
      /GOVERNANCE_TEST_CLOCK_OFFSET_FILE/,
    );
    expect(parseEnvironment({ ...base, NODE_ENV: 'production' }).GOVERNANCE_TEST_CLOCK_OFFSET_FILE).toBeUndefined();
  });
});
