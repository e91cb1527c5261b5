import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { GraphAuthError } from '../errors';

export type GraphAuth = { kind: 'secret'; clientSecret: string } | { kind: 'certificate'; certificatePem: string; privateKeyPem: string };

interface CachedToken {
  token: string;
  expiresAt: number;
  /** Refresh this long before expiry: 5 min, or half the lifetime of short-lived tokens. */
  marginMs: number;
}

/**
 * Client-credentials tokens from the identity platform via @azure/identity, cached until five minutes
 * before expiry (half the lifetime for short-lived tokens) and shared by every concurrent caller: one
 * token request in flight at a time, which no single caller's abort can cancel for the others.
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
        : new ClientCertificateCredential(
            tenantId,
            clientId,
            { certificate: `${auth.privateKeyPem.trim()}\n${auth.certificatePem.trim()}\n` },
            options,
          );
  }

  async getToken(signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    if (this.cached && this.cached.expiresAt - Date.now() > this.cached.marginMs) return this.cached.token;
    const pending = (this.pending ??= this.fetchToken().then(
      (t) => {
        this.cached = t;
        this.pending = null;
        return t;
      },
      (err: unknown) => {
        this.pending = null;
        throw err;
      },
    ));
    return (await abortable(pending, signal)).token;
  }

  /** Forget the cached token (after a 401, e.g. revoked consent). */
  invalidate(): void {
    this.cached = null;
  }

  private async fetchToken(): Promise<CachedToken> {
    try {
      const t = await this.credential.getToken(this.scope);
      if (!t) throw new GraphAuthError('no_token', 'the identity platform returned no token');
      return { token: t.token, expiresAt: t.expiresOnTimestamp, marginMs: Math.min(5 * 60_000, (t.expiresOnTimestamp - Date.now()) / 2) };
    } catch (err) {
      if (err instanceof GraphAuthError) throw err;
      throw toAuthError(err);
    }
  }
}

// AADSTS codes seen for client-credentials failures, for errors that arrive without an OAuth code.
const AADSTS_CODES: Record<string, string> = {
  AADSTS7000215: 'invalid_client',
  AADSTS7000222: 'invalid_client',
  AADSTS700027: 'invalid_client',
  AADSTS700016: 'unauthorized_client',
  AADSTS90002: 'invalid_request',
  AADSTS500011: 'invalid_resource',
};

function toAuthError(err: unknown): GraphAuthError {
  const e = err as {
    errorResponse?: { error?: string; error_description?: string; errorDescription?: string };
    message?: string;
    name?: string;
  };
  const description = e.errorResponse?.errorDescription ?? e.errorResponse?.error_description;
  const msg = description ?? e.message ?? String(err);
  const aadsts = /AADSTS\d+/.exec(msg)?.[0];
  const oauth = /\b(invalid_client|unauthorized_client|invalid_request|invalid_grant|invalid_scope|invalid_resource)\b/.exec(msg)?.[0];
  const code =
    (e.errorResponse?.error && e.errorResponse.error !== 'invalid_request' ? e.errorResponse.error : undefined) ??
    oauth ??
    (aadsts ? AADSTS_CODES[aadsts] : undefined) ??
    e.errorResponse?.error ??
    'token_error';
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

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
