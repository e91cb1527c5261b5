import { webcrypto } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { UnauthenticatedError } from '../errors';
import type { OidcVerifier } from './oidc';
import { isRole, MEMBER, type Caller, type CallerRole } from './roles';

/**
 * How bearer tokens are verified: HS256 development tokens (`secret`, unless `devTokens` is false)
 * and/or RS256 tokens of an OpenID Connect issuer (`oidc`). The token's `alg` picks the path; a
 * token for a path that is not configured is refused.
 */
export interface JwtConfig {
  /** AUTH_JWT_SECRET; without it no HS256 token is accepted. */
  secret?: string | undefined;
  /** false: HS256 tokens are refused even when a secret is set (AUTH_DEV_TOKENS, see environment.ts). */
  devTokens?: boolean;
  /** RS256 tokens of OIDC_ISSUER. */
  oidc?: OidcVerifier | null;
  issuer: string;
  /** Required `aud` of every token (AUTH_JWT_AUDIENCE); default `warden`. */
  audience?: string;
  /** Longest lifetime (exp − iat) a token may have, in seconds (AUTH_MAX_TOKEN_TTL); default 30 days. */
  maxTtlSeconds?: number;
}

export const DEFAULT_AUDIENCE = 'warden';
export const DEFAULT_MAX_TOKEN_TTL_SECONDS = 30 * 86_400;

const ALG = 'HS256';
const key = (secret: string) => new TextEncoder().encode(secret);

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3_600,
  hr: 3_600,
  hrs: 3_600,
  hour: 3_600,
  hours: 3_600,
  d: 86_400,
  day: 86_400,
  days: 86_400,
  w: 604_800,
  week: 604_800,
  weeks: 604_800,
  y: 31_557_600,
  yr: 31_557_600,
  yrs: 31_557_600,
  year: 31_557_600,
  years: 31_557_600,
};

/** '15m', '8h', '30d', '2 weeks', '-1m' → seconds; null when it is not a duration. */
export function ttlSeconds(ttl: string): number | null {
  const m = /^(-?\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(ttl.trim());
  if (!m) return null;
  const unit = UNIT_SECONDS[m[2]!.toLowerCase()];
  return unit === undefined ? null : Math.round(Number(m[1]) * unit);
}

/** '30d' | '720h' | '2592000' (seconds) → seconds; for AUTH_MAX_TOKEN_TTL. */
export function parseMaxTtl(value: string): number | null {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const s = ttlSeconds(v);
  return s !== null && s > 0 ? s : null;
}

/**
 * Issues a token (the `token` CLI, `npm start` and tests) with `iss`, `aud`, `iat` and `exp`; `ttl`
 * is '8h', '30d', '15m' (default 8h). A lifetime above the cap (default 30 days) is refused here
 * exactly as the gateway would refuse the token.
 */
export async function mintToken(
  cfg: { secret: string; issuer: string; audience?: string; maxTtlSeconds?: number },
  claims: { sub: string; role: CallerRole; ttl?: string; tid?: string; oid?: string; name?: string },
): Promise<string> {
  const ttl = claims.ttl ?? '8h';
  const seconds = ttlSeconds(ttl);
  if (seconds === null) throw new Error(`ttl '${ttl}' is not a duration such as 15m, 8h or 30d`);
  const max = cfg.maxTtlSeconds ?? DEFAULT_MAX_TOKEN_TTL_SECONDS;
  if (seconds > max)
    throw new Error(`ttl '${ttl}' is longer than the maximum token lifetime of ${describeSeconds(max)} (AUTH_MAX_TOKEN_TTL)`);
  const now = Math.floor(Date.now() / 1000);
  // A member's token carries no role claim, like an Entra token without Warden app roles.
  return new SignJWT({
    ...(claims.role !== MEMBER ? { role: claims.role } : {}),
    ...(claims.tid ? { tid: claims.tid } : {}),
    ...(claims.oid ? { oid: claims.oid } : {}),
    ...(claims.name ? { name: claims.name } : {}),
  })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(cfg.issuer)
    .setAudience(cfg.audience ?? DEFAULT_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + seconds)
    .sign(key(cfg.secret));
}

export function describeSeconds(s: number): string {
  const [n, unit] = s % 86_400 === 0 ? [s / 86_400, 'day'] : s % 3_600 === 0 ? [s / 3_600, 'hour'] : [s, 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

interface Verifier {
  key: Promise<webcrypto.CryptoKey>;
  /** token → caller and expiry (ms); only tokens that passed verification, dropped once expired. */
  verified: Map<string, { caller: Caller; expiresAt: number }>;
}

const MAX_CACHED_TOKENS = 10_000;
const verifiers = new Map<string, Verifier>();

// Importing the HMAC key once and remembering verified tokens matter on the hot path: with a raw
// secret jose imports a WebCrypto key and verifies on every request (about 0.1 ms of CPU each),
// while a dashboard sends the same token thousands of times.
function verifierFor(cfg: JwtConfig & { secret: string }): Verifier {
  const id = `${cfg.issuer}\u0000${cfg.audience ?? DEFAULT_AUDIENCE}\u0000${cfg.maxTtlSeconds ?? DEFAULT_MAX_TOKEN_TTL_SECONDS}\u0000${cfg.secret}`;
  let v = verifiers.get(id);
  if (!v) {
    v = {
      key: webcrypto.subtle.importKey('raw', key(cfg.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
      verified: new Map(),
    };
    verifiers.set(id, v);
  }
  return v;
}

/**
 * A bearer token → the caller: HS256 development tokens with the secret, RS256 tokens through the
 * OpenID Connect issuer (oidc.ts). Anything else, or a kind this deployment does not accept, is 401.
 */
export async function verifyToken(cfg: JwtConfig, token: string): Promise<Caller> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new UnauthenticatedError('the token is not valid');
  }
  if (alg === ALG) {
    if (!cfg.secret || cfg.devTokens === false)
      throw new UnauthenticatedError('development tokens (HS256) are not accepted here; use a token of the OpenID Connect issuer');
    return verifyDevToken({ ...cfg, secret: cfg.secret }, token);
  }
  if (alg === 'RS256' && cfg.oidc) return cfg.oidc.verify(token);
  throw new UnauthenticatedError('the token is not valid');
}

/**
 * HS256: verifies signature, algorithm, issuer, audience, expiry and lifetime (exp − iat at most the
 * cap, so a token minted for a year is refused even while it is "valid"). No `role` claim (or
 * `MEMBER`) is a member; an unknown role is refused, never downgraded.
 */
async function verifyDevToken(cfg: JwtConfig & { secret: string }, token: string): Promise<Caller> {
  const v = verifierFor(cfg);
  const hit = v.verified.get(token);
  if (hit) {
    if (hit.expiresAt > Date.now()) return hit.caller;
    v.verified.delete(token);
  }
  try {
    const { payload } = await jwtVerify(token, await v.key, {
      algorithms: [ALG],
      issuer: cfg.issuer,
      audience: cfg.audience ?? DEFAULT_AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat', 'aud'],
    });
    if (!payload.sub) throw new UnauthenticatedError('the token has no subject');
    const max = cfg.maxTtlSeconds ?? DEFAULT_MAX_TOKEN_TTL_SECONDS;
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > max) {
      throw new UnauthenticatedError(`the token lives longer than the maximum token lifetime of ${describeSeconds(max)} (exp − iat)`);
    }
    const role = payload['role'];
    if (role !== undefined && role !== MEMBER && !isRole(role))
      throw new UnauthenticatedError('the token carries an unknown role (SUPER_ADMIN, CONNECTOR_ADMIN, VIEWER, or none for a member)');
    const str = (c: unknown) => (typeof c === 'string' && c.length > 0 ? c : undefined);
    const [tid, oid, name] = [str(payload['tid']), str(payload['oid']), str(payload['name'])];
    const caller: Caller = {
      sub: payload.sub,
      role: isRole(role) ? role : MEMBER,
      ...(tid ? { tid } : {}),
      ...(oid ? { oid } : {}),
      ...(name ? { name } : {}),
    };
    // Map iteration order is insertion order: dropping the first entry evicts the oldest.
    if (v.verified.size >= MAX_CACHED_TOKENS) v.verified.delete(v.verified.keys().next().value as string);
    v.verified.set(token, { caller, expiresAt: (payload.exp ?? 0) * 1000 });
    return caller;
  } catch (err) {
    if (err instanceof UnauthenticatedError) throw err;
    if (err instanceof errors.JWTExpired) throw new UnauthenticatedError('the token has expired');
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud')
      throw new UnauthenticatedError('the token is not valid for this audience');
    throw new UnauthenticatedError('the token is not valid');
  }
}

/** `Bearer <token>` → token; anything else → null (no credentials) or an error (malformed). */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
  return m[1]!;
}

export async function authenticate(cfg: JwtConfig, header: string | undefined | null): Promise<Caller | null> {
  const token = bearerToken(header);
  return token ? verifyToken(cfg, token) : null;
}
