import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { UnauthenticatedError } from '../errors';
import { MEMBER, ROLES, type Caller, type CallerRole, type Role } from './roles';

/** Entra app roles of the Warden app registration → platform roles (the highest one wins). */
export const APP_ROLES: Readonly<Record<string, Role>> = {
  'Warden.SuperAdmin': 'SUPER_ADMIN',
  'Warden.ConnectorAdmin': 'CONNECTOR_ADMIN',
  'Warden.Viewer': 'VIEWER',
};

/** The token's `roles` claim → the highest platform role it maps to, or MEMBER when none does. */
export function roleFromAppRoles(claim: unknown): CallerRole {
  const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? [claim] : [];
  const mapped = new Set(values.map((v) => (typeof v === 'string' ? APP_ROLES[v] : undefined)).filter(Boolean));
  // ROLES is ordered highest first.
  return ROLES.find((r) => mapped.has(r)) ?? MEMBER;
}

export interface OidcConfig {
  /** OIDC_ISSUER: the `iss` of tokens; `${issuer}/.well-known/openid-configuration` names the JWKS. */
  issuer: string;
  /** OIDC_AUDIENCE (default OIDC_CLIENT_ID): the required `aud`. */
  audience: string;
  /** Longest lifetime (exp − iat) accepted, seconds (AUTH_MAX_TOKEN_TTL). */
  maxTtlSeconds: number;
  /** OIDC_ACCEPT_V1_ISSUER (default true): also accept the tenant's v1.0 issuer (see acceptedIssuers). */
  acceptV1Issuer?: boolean;
  /** After a JWKS fetch, no other one for this long, ms (jose's cooldown; default 30 s). */
  jwksCooldownMs?: number;
}

/** What the gateway reads from the issuer's discovery document. */
export interface OidcMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  end_session_endpoint?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const trimSlash = (s: string) => s.replace(/\/+$/, '');

/**
 * The `iss` values accepted, and the tenant they imply. An Entra tenant's v2.0 issuer
 * (`https://<authority>/<tenant id>/v2.0`) also accepts that same tenant's v1.0 access-token issuer
 * (`https://sts.windows.net/<tenant id>/`), which Entra puts in access tokens of apps whose
 * `accessTokenAcceptedVersion` is not 2 (and the emulator in all its access tokens); the tenant of
 * both is then required in `tid` as well. Any other issuer is accepted exactly as configured.
 */
export function acceptedIssuers(issuer: string, acceptV1 = true): { issuers: string[]; tenantId: string | null } {
  const m = /^https:\/\/[^/]+\/([^/]+)\/v2\.0\/?$/i.exec(issuer);
  const tenant = m && GUID.test(m[1]!) ? m[1]!.toLowerCase() : null;
  const exact = [...new Set([issuer, trimSlash(issuer)])];
  if (!tenant) return { issuers: exact, tenantId: null };
  return { issuers: acceptV1 ? [...exact, `https://sts.windows.net/${tenant}/`] : exact, tenantId: tenant };
}

const MAX_CACHED_TOKENS = 10_000;
/** After a failed discovery, the next token waits this long before another attempt. */
const DISCOVERY_RETRY_MS = 5_000;

/**
 * Verifies RS256 bearer tokens of an OpenID Connect issuer (Entra ID, or the Graph emulator): the
 * signing keys come from the `jwks_uri` of the issuer's discovery document (fetched on first use,
 * its `issuer` must be the configured one), cached by jose and fetched again when a token names an
 * unknown `kid` (key rotation; at most once per 30 s). Checks `iss`, `aud`, `exp`, `nbf`, `iat`
 * (and the lifetime cap), the tenant for a tenant issuer; maps `roles` through APP_ROLES.
 */
export class OidcVerifier {
  private readonly accepted: { issuers: string[]; tenantId: string | null };
  private keys: Promise<{ jwks: ReturnType<typeof createRemoteJWKSet>; metadata: OidcMetadata }> | null = null;
  private failedAt = 0;
  private readonly verified = new Map<string, { caller: Caller; expiresAt: number }>();

  constructor(readonly config: OidcConfig) {
    this.accepted = acceptedIssuers(config.issuer, config.acceptV1Issuer ?? true);
  }

  get discoveryUrl(): string {
    return `${trimSlash(this.config.issuer)}/.well-known/openid-configuration`;
  }

  private async discover(): Promise<{ jwks: ReturnType<typeof createRemoteJWKSet>; metadata: OidcMetadata }> {
    const res = await fetch(this.discoveryUrl, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${this.discoveryUrl} answered ${res.status}`);
    const doc = (await res.json()) as Record<string, unknown>;
    if (typeof doc.issuer !== 'string' || trimSlash(doc.issuer) !== trimSlash(this.config.issuer))
      throw new Error(`the discovery document names issuer ${String(doc.issuer)}, not ${this.config.issuer}`);
    if (typeof doc.jwks_uri !== 'string' || !doc.jwks_uri.startsWith('https://'))
      throw new Error('the discovery document has no https jwks_uri');
    const https = (v: unknown) => (typeof v === 'string' && v.startsWith('https://') ? v : undefined);
    const endpoints = {
      authorization_endpoint: https(doc['authorization_endpoint']),
      token_endpoint: https(doc['token_endpoint']),
      end_session_endpoint: https(doc['end_session_endpoint']),
    };
    const metadata: OidcMetadata = {
      issuer: doc.issuer,
      jwks_uri: doc.jwks_uri,
      ...Object.fromEntries(Object.entries(endpoints).filter(([, v]) => v !== undefined)),
    };
    const jwks = createRemoteJWKSet(new URL(doc.jwks_uri), {
      cooldownDuration: this.config.jwksCooldownMs ?? 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    return { jwks, metadata };
  }

  /** The issuer's discovery document (endpoints), fetched once like the JWKS. */
  async metadata(): Promise<OidcMetadata> {
    return (await this.discovered()).metadata;
  }

  /**
   * Verifies an id token of the issuer for `clientId` (signature through the JWKS, `iss` exactly the
   * configured issuer, `aud`, `exp`, `nonce`); returns its claims. Throws UnauthenticatedError.
   */
  async verifyIdToken(token: string, clientId: string, nonce: string): Promise<JWTPayload> {
    const { jwks } = await this.discovered();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms: ['RS256'],
        issuer: [...new Set([this.config.issuer, trimSlash(this.config.issuer)])],
        audience: clientId,
        requiredClaims: ['sub', 'exp', 'iat', 'aud', 'iss', 'nonce'],
      }));
    } catch {
      throw new UnauthenticatedError('the id token is not valid');
    }
    if (payload['nonce'] !== nonce) throw new UnauthenticatedError('the id token does not carry the nonce of this sign-in');
    return payload;
  }

  private discovered(): Promise<{ jwks: ReturnType<typeof createRemoteJWKSet>; metadata: OidcMetadata }> {
    if (!this.keys) {
      if (Date.now() - this.failedAt < DISCOVERY_RETRY_MS)
        return Promise.reject(new UnauthenticatedError("the token's issuer could not be reached to verify it; try again shortly"));
      this.keys = this.discover().catch((err: unknown) => {
        this.keys = null;
        this.failedAt = Date.now();
        throw new UnauthenticatedError(
          `the token's issuer could not be reached to verify it (${err instanceof Error ? err.message : String(err)})`,
        );
      });
    }
    return this.keys;
  }

  async verify(token: string): Promise<Caller> {
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.expiresAt > Date.now()) return hit.caller;
      this.verified.delete(token);
    }
    const { jwks } = await this.discovered();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms: ['RS256'],
        issuer: this.accepted.issuers,
        audience: this.config.audience,
        requiredClaims: ['sub', 'exp', 'iat', 'aud', 'iss'],
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new UnauthenticatedError('the token has expired');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud')
        throw new UnauthenticatedError('the token is not valid for this audience');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'iss')
        throw new UnauthenticatedError('the token was not issued by the configured issuer');
      throw new UnauthenticatedError('the token is not valid');
    }
    if (!payload.sub) throw new UnauthenticatedError('the token has no subject');
    const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
    const tid = str(payload['tid']);
    if (this.accepted.tenantId && tid?.toLowerCase() !== this.accepted.tenantId)
      throw new UnauthenticatedError('the token was not issued for the configured tenant');
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > this.config.maxTtlSeconds)
      throw new UnauthenticatedError('the token lives longer than the maximum token lifetime (exp − iat)');
    const oid = str(payload['oid']);
    const name = str(payload['name']) ?? str(payload['preferred_username']);
    const caller: Caller = {
      sub: payload.sub,
      role: roleFromAppRoles(payload['roles']),
      ...(tid ? { tid } : {}),
      ...(oid ? { oid } : {}),
      ...(name ? { name } : {}),
    };
    if (this.verified.size >= MAX_CACHED_TOKENS) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { caller, expiresAt: (payload.exp ?? 0) * 1000 });
    return caller;
  }
}
