import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { GraphAuthError } from '../errors';

export type GraphAuth =
  | { kind: 'secret'; clientSecret: string }
  | { kind: 'certificate'; certificatePem: string; privateKeyPem: string };

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Client-credentials tokens from the identity platform via @azure/identity, cached until five minutes
 * before expiry and shared by every concurrent caller (one token request in flight at a time).
 */
export class TokenProvider {
  private readonly credential: TokenCredential;
  private cached: CachedToken | null = null;
  private pending: Promise<CachedToken> | null = null;

  constructor(
    tenantId: string,
    clientId: string,
    auth: GraphAuth,
    authorityHost: string,
    private readonly scope: string,
  ) {
    const options = { authorityHost, disableInstanceDiscovery: true };
    this.credential =
      auth.kind === 'secret'
        ? new ClientSecretCredential(tenantId, clientId, auth.clientSecret, options)
        : new ClientCertificateCredential(tenantId, clientId, { certificate: `${auth.privateKeyPem.trim()}\n${auth.certificatePem.trim()}\n` }, options);
  }

  async getToken(signal?: AbortSignal): Promise<string> {
    if (this.cached && this.cached.expiresAt - Date.now() > 5 * 60_000) return this.cached.token;
    this.pending ??= this.fetchToken(signal).finally(() => {
      this.pending = null;
    });
    this.cached = await this.pending;
    return this.cached.token;
  }

  /** Forget the cached token (after a 401, e.g. revoked consent). */
  invalidate(): void {
    this.cached = null;
  }

  private async fetchToken(signal?: AbortSignal): Promise<CachedToken> {
    try {
      const t = await this.credential.getToken(this.scope, { abortSignal: signal });
      if (!t) throw new GraphAuthError('no_token', 'the identity platform returned no token');
      return { token: t.token, expiresAt: t.expiresOnTimestamp };
    } catch (err) {
      if (err instanceof GraphAuthError) throw err;
      throw toAuthError(err);
    }
  }
}

// AADSTS codes seen for client-credentials failures, for errors that arrive without an OAuth code.
const AADSTS_CODES: Record<string, string> = {
  AADSTS7000215: 'invalid_client', AADSTS7000222: 'invalid_client', AADSTS700027: 'invalid_client',
  AADSTS700016: 'unauthorized_client', AADSTS90002: 'invalid_request', AADSTS500011: 'invalid_resource',
};

function toAuthError(err: unknown): GraphAuthError {
  const e = err as { errorResponse?: { error?: string; error_description?: string; errorDescription?: string }; message?: string; name?: string };
  const description = e.errorResponse?.errorDescription ?? e.errorResponse?.error_description;
  const msg = description ?? e.message ?? String(err);
  const aadsts = /AADSTS\d+/.exec(msg)?.[0];
  const oauth = /\b(invalid_client|unauthorized_client|invalid_request|invalid_grant|invalid_scope|invalid_resource)\b/.exec(msg)?.[0];
  const code = (e.errorResponse?.error && e.errorResponse.error !== 'invalid_request' ? e.errorResponse.error : undefined)
    ?? oauth ?? (aadsts ? AADSTS_CODES[aadsts] : undefined) ?? e.errorResponse?.error ?? 'token_error';
  const start = aadsts ? msg.indexOf(aadsts) : 0;
  return new GraphAuthError(code, firstLine(msg.slice(start)).replace(/\s*Trace ID:.*$/, ''));
}

function firstLine(s: string): string {
  return s.split(/\r?\n/)[0]!.slice(0, 500);
}

/** The `roles` claim of an access token (application permissions granted to the app). */
export function rolesOf(accessToken: string): string[] {
  const payload = accessToken.split('.')[1];
  if (!payload) return [];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { roles?: unknown };
  return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
}
