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

/** Verifies signature, algorithm, issuer and expiry; an unknown role is refused, never downgraded. */
export async function verifyToken(cfg: JwtConfig, token: string): Promise<Caller> {
  try {
    const { payload } = await jwtVerify(token, key(cfg.secret), { algorithms: [ALG], issuer: cfg.issuer, requiredClaims: ['sub', 'exp'] });
    if (!payload.sub) throw new UnauthenticatedError('the token has no subject');
    if (!isRole(payload['role'])) throw new UnauthenticatedError('the token carries no known role (SUPER_ADMIN, CONNECTOR_ADMIN, VIEWER)');
    return { sub: payload.sub, role: payload['role'] };
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
