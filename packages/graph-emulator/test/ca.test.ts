import { describe, expect, it } from 'vitest';
import { serial } from '../src/identity/ca';

describe('certificate serial numbers', () => {
  it('are positive and minimal in DER, so OpenSSL loads every certificate (a leading zero byte was "illegal padding")', () => {
    for (let i = 0; i < 10_000; i++) {
      const s = serial();
      expect(s).toMatch(/^[0-9a-f]{32}$/);
      const first = parseInt(s.slice(0, 2), 16);
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(0x80);
    }
  });
});
