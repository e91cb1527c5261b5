import { webcrypto } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { UnauthenticatedError } from '../errors';
import { isRole, type Caller, type Role } from './roles';

export interface JwtConfig {
  secret: string;
  issuer: string;
}

const ALG = 'HS256';
const key = (secret: string) => new TextEncoder().encode(secret);

/** Issues a token (the `token` CLI and tests); `ttl` uses jose's syntax: '8h', '30d', '15m'. */
export async function mintToken(cfg: JwtConfig, claims: { sub: string; role: Role; ttl?: string }): Promise<string> {
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(cfg.issuer)
    .setIssuedAt()
    .setExpirationTime(claims.ttl ?? '8h')
    .sign(key(cfg.secret));
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
function verifierFor(cfg: JwtConfig): Verifier {
  const id = `${cfg.issuer}\u0000${cfg.secret}`;
  let v = verifiers.get(id);
  if (!v) {
    v = { key: webcrypto.subtle.importKey('raw', key(cfg.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']), verified: new Map() };
    verifiers.set(id, v);
  }
  return v;
}

/** Verifies signature, algorithm, issuer and expiry; an unknown role is refused, never downgraded. */
export async function verifyToken(cfg: JwtConfig, token: string): Promise<Caller> {
  const v = verifierFor(cfg);
  const hit = v.verified.get(token);
  if (hit) {
    if (hit.expiresAt > Date.now()) return hit.caller;
    v.verified.delete(token);
  }
  try {
    const { payload } = await jwtVerify(token, await v.key, { algorithms: [ALG], issuer: cfg.issuer, requiredClaims: ['sub', 'exp'] });
    if (!payload.sub) throw new UnauthenticatedError('the token has no subject');
    if (!isRole(payload['role'])) throw new UnauthenticatedError('the token carries no known role (SUPER_ADMIN, CONNECTOR_ADMIN, VIEWER)');
    const caller: Caller = { sub: payload.sub, role: payload['role'] };
    // Map iteration order is insertion order: dropping the first entry evicts the oldest.
    if (v.verified.size >= MAX_CACHED_TOKENS) v.verified.delete(v.verified.keys().next().value as string);
    v.verified.set(token, { caller, expiresAt: (payload.exp ?? 0) * 1000 });
    return caller;
  } catch (err) {
    if (err instanceof UnauthenticatedError) throw err;
    if (err instanceof errors.JWTExpired) throw new UnauthenticatedError('the token has expired');
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
