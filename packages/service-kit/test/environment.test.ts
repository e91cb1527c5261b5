import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commonEnvironment, parseEnvironmentWith } from '../src/environment';

const schema = z.object({ ...commonEnvironment, PORT: z.coerce.number().int().default(4000) });

describe('environment', () => {
  it('applies defaults', () => {
    const env = parseEnvironmentWith(schema, 'test-app', { DATABASE_URL: 'postgres://x', WARDEN_SECRET_KEYS: `k:${Buffer.alloc(32).toString('base64')}` });
    expect(env.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(env.PORT).toBe(4000);
  });

  it('names every bad variable in one message', () => {
    expect(() => parseEnvironmentWith(schema, 'test-app', { WARDEN_SECRET_KEYS: 'k:short', PORT: 'x', LOG_LEVEL: 'loud' }))
      .toThrow(/invalid test-app environment:[\s\S]*DATABASE_URL[\s\S]*LOG_LEVEL[\s\S]*WARDEN_SECRET_KEYS[\s\S]*PORT/);
  });
});
