import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from '../src/auth/jwt';
import { parseEnvironment } from '../src/environment';
import { startGateway } from '../src/server';
import { JWT_SECRET, SECRET_KEYS, startHarness, type Harness } from './support/harness';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const TSX = path.resolve(here, '../../../node_modules/.bin/tsx');
const CLI = path.resolve(here, '../src/cli/mint-token.ts');
const QUERY = '{ connectors { totalCount } }';

/** A token signed with the gateway's own key but with claims chosen by the test (what a leaked key or a sloppy IdP would produce). */
async function raw(claims: { aud?: string | string[]; iat?: number; exp?: number; iss?: string }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: 'SUPER_ADMIN' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('mallory')
    .setIssuer(claims.iss ?? 'warden')
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 3_600);
  if (claims.aud !== undefined) jwt.setAudience(claims.aud);
  return jwt.sign(new TextEncoder().encode(JWT_SECRET));
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

describe('bearer tokens: audience', () => {
  it('accepts a minted token, which carries aud = warden', async () => {
    const token = await h.token('VIEWER', 'vera');
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).aud).toBe('warden');
    const r = await h.gql(token, QUERY);
    expect(r.status).toBe(200);
    expect(r.errors).toBeUndefined();
  });

  it('refuses a correctly signed token without aud, or for another audience, with 401', async () => {
    for (const token of [await raw({}), await raw({ aud: 'another-service' }), await raw({ aud: ['another-service', 'x'] })]) {
      const r = await h.gql(token, QUERY);
      expect(r.status).toBe(401);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(r.data ?? null).toBeNull();
    }
    // With the right audience the same construction passes (so the refusals above are about aud).
    expect((await h.gql(await raw({ aud: 'warden' }), QUERY)).status).toBe(200);
  });

  it('AUTH_JWT_AUDIENCE changes the required audience', async () => {
    const cfg = { secret: JWT_SECRET, issuer: 'warden', audience: 'warden-prod' };
    const forProd = await mintToken(cfg, { sub: 'a', role: 'VIEWER', ttl: '1h' });
    expect(await verifyToken(cfg, forProd)).toEqual({ sub: 'a', role: 'VIEWER' });
    await expect(verifyToken({ secret: JWT_SECRET, issuer: 'warden' }, forProd)).rejects.toThrow(/audience/);
    expect(
      parseEnvironment({ DATABASE_URL: 'postgres://x', WARDEN_SECRET_KEYS: SECRET_KEYS, AUTH_JWT_SECRET: JWT_SECRET }).AUTH_JWT_AUDIENCE,
    ).toBe('warden');
  });
});

describe('bearer tokens: lifetime', () => {
  it('refuses a token that lives a year (exp − iat above 30 days), though signed with the right key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const yearLong = await raw({ aud: 'warden', iat: now, exp: now + 365 * 86_400 });
    const r = await h.gql(yearLong, QUERY);
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.message).toMatch(/maximum token lifetime/);
    // Back-dating iat does not help: the lifetime is exp − iat.
    const backdated = await raw({ aud: 'warden', iat: now - 335 * 86_400, exp: now + 30 * 86_400 });
    expect((await h.gql(backdated, QUERY)).status).toBe(401);
    // A token without iat cannot prove its lifetime.
    const noIat = await new SignJWT({ role: 'SUPER_ADMIN' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('m')
      .setIssuer('warden')
      .setAudience('warden')
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect((await h.gql(noIat, QUERY)).status).toBe(401);
    // 30 days exactly is accepted.
    expect((await h.gql(await raw({ aud: 'warden', iat: now, exp: now + 30 * 86_400 }), QUERY)).status).toBe(200);
  });

  it('AUTH_MAX_TOKEN_TTL lowers the cap', async () => {
    const short = await startHarness({ AUTH_MAX_TOKEN_TTL: '12h' });
    try {
      const now = Math.floor(Date.now() / 1000);
      expect((await short.gql(await raw({ aud: 'warden', iat: now, exp: now + 13 * 3_600 }), QUERY)).status).toBe(401);
      expect((await short.gql(await raw({ aud: 'warden', iat: now, exp: now + 8 * 3_600 }), QUERY)).status).toBe(200);
    } finally {
      await short.close();
    }
    expect(() =>
      parseEnvironment({
        DATABASE_URL: 'postgres://x',
        WARDEN_SECRET_KEYS: SECRET_KEYS,
        AUTH_JWT_SECRET: JWT_SECRET,
        AUTH_MAX_TOKEN_TTL: 'forever',
      }),
    ).toThrow(/AUTH_MAX_TOKEN_TTL/);
  });

  it('the token CLI refuses --ttl 100y (and anything above 30 days) and prints no token', async () => {
    for (const ttl of ['100y', '31d', '1y', '5w']) {
      const err = await run(TSX, [CLI, '--role', 'SUPER_ADMIN', '--sub', 'alice', '--ttl', ttl], {
        env: { ...process.env, AUTH_JWT_SECRET: JWT_SECRET },
      }).then(
        () => null,
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect(err, ttl).not.toBeNull();
      expect(err!.code).toBe(2);
      expect(err!.stdout).toBe('');
      expect(err!.stderr).toMatch(/longer than the maximum token lifetime of 30 days/);
    }
    // AUTH_MAX_TOKEN_TTL, when shorter, is the CLI's cap too.
    const capped = await run(TSX, [CLI, '--role', 'VIEWER', '--sub', 'a', '--ttl', '2d'], {
      env: { ...process.env, AUTH_JWT_SECRET: JWT_SECRET, AUTH_MAX_TOKEN_TTL: '1d' },
    }).then(
      () => null,
      (e: { stderr: string }) => e,
    );
    expect(capped?.stderr).toMatch(/maximum token lifetime of 1 day;/);
    const ok = await run(TSX, [CLI, '--role', 'VIEWER', '--sub', 'a', '--ttl', '30d'], {
      env: { ...process.env, AUTH_JWT_SECRET: JWT_SECRET },
    });
    const claims = JSON.parse(Buffer.from(ok.stdout.trim().split('.')[1]!, 'base64url').toString()) as {
      exp: number;
      iat: number;
      aud: string;
    };
    expect(claims.exp - claims.iat).toBe(30 * 86_400);
    expect(claims.aud).toBe('warden');
    expect((await h.gql(ok.stdout.trim(), QUERY)).status).toBe(200);
  });
});

describe('configuration', () => {
  it('a parsed environment parses again to itself (main.ts hands startGateway a parsed environment)', () => {
    const parsed = parseEnvironment({
      DATABASE_URL: 'postgres://x',
      WARDEN_SECRET_KEYS: SECRET_KEYS,
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_MAX_TOKEN_TTL: '12h',
    });
    expect(parsed.AUTH_MAX_TOKEN_TTL).toBe(12 * 3600);
    expect(parseEnvironment(parsed as unknown as Record<string, string>)).toEqual(parsed);
  });

  it('HOST defaults to 127.0.0.1 (containers set 0.0.0.0 explicitly)', () => {
    expect(parseEnvironment({ DATABASE_URL: 'postgres://x', WARDEN_SECRET_KEYS: SECRET_KEYS, AUTH_JWT_SECRET: JWT_SECRET }).HOST).toBe(
      '127.0.0.1',
    );
  });

  it('with NODE_ENV=production the gateway refuses to start with the old docker-compose defaults, or a weak secret', async () => {
    const published = {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/never_used',
      NODE_ENV: 'production',
      PORT: '0',
      WARDEN_SECRET_KEYS: 'k1:ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMhISE=',
      AUTH_JWT_SECRET: 'development-only-secret-change-me-0123456789',
    };
    await expect(startGateway(published)).rejects.toThrow(
      /AUTH_JWT_SECRET: is a published development value[\s\S]*WARDEN_SECRET_KEYS: key 'k1' is a published development key/,
    );
    await expect(startGateway({ ...published, WARDEN_SECRET_KEYS: SECRET_KEYS, AUTH_JWT_SECRET: 'a'.repeat(40) })).rejects.toThrow(
      /AUTH_JWT_SECRET: is too short or too simple for production/,
    );
    // The same published values are refused by anyone who can mint with them: a token signed with the
    // old public key is worthless against a gateway with its own secret.
    const cli = await run(TSX, [CLI, '--role', 'SUPER_ADMIN', '--sub', 'm', '--ttl', '1h'], {
      env: { ...process.env, NODE_ENV: 'production', AUTH_JWT_SECRET: published.AUTH_JWT_SECRET },
    }).then(
      () => null,
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(cli?.code).toBe(2);
    expect(cli?.stdout).toBe('');
    expect(cli?.stderr).toMatch(/published development value/);
    const withPublishedKey = await mintToken(
      { secret: published.AUTH_JWT_SECRET, issuer: 'warden' },
      { sub: 'mallory', role: 'SUPER_ADMIN' },
    );
    expect((await h.gql(withPublishedKey, QUERY)).status).toBe(401);
  });
});
