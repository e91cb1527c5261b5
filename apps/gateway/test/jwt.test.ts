import { describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from '../src/auth/jwt';

const cfg = { secret: 'jwt-test-secret-'.repeat(3), issuer: 'warden' };

describe('token verification (imported key, cache of verified tokens)', () => {
  it('keeps refusing forged tokens and tokens of another issuer after a good one was cached', async () => {
    const good = await mintToken(cfg, { sub: 'alice', role: 'VIEWER', ttl: '1h' });
    expect(await verifyToken(cfg, good)).toEqual({ sub: 'alice', role: 'VIEWER' });
    expect(await verifyToken(cfg, good)).toEqual({ sub: 'alice', role: 'VIEWER' });
    const forged = await mintToken(
      { ...cfg, secret: 'another-secret-of-enough-length-000' },
      { sub: 'alice', role: 'SUPER_ADMIN', ttl: '1h' },
    );
    await expect(verifyToken(cfg, forged)).rejects.toThrow(/not valid/);
    // The same token under a configuration with another issuer is checked again, not served from the cache.
    await expect(verifyToken({ ...cfg, issuer: 'elsewhere' }, good)).rejects.toThrow(/not valid/);
    const tampered = `${good.slice(0, -2)}${good.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(verifyToken(cfg, tampered)).rejects.toThrow(/not valid/);
  });

  it('stops accepting a cached token once it expires', async () => {
    const short = await mintToken(cfg, { sub: 'bob', role: 'CONNECTOR_ADMIN', ttl: '2s' });
    expect(await verifyToken(cfg, short)).toEqual({ sub: 'bob', role: 'CONNECTOR_ADMIN' });
    await new Promise((r) => setTimeout(r, 2_100));
    await expect(verifyToken(cfg, short)).rejects.toThrow(/expired/);
  });
});
