import { credentialsGraphClient, type CredentialsInput } from '@warden/connector-client';
import { GraphAuthError, rolesOf } from '@warden/graph-core';

/** Tenant, client id, authority, Graph root and credentials of a connector being created or changed. */
export type ProbeInput = CredentialsInput;

/**
 * `tenantId`: the token's `tid` claim, the organisation the identity platform issued it for (null
 * when the token carries none). The token comes straight from the allowlisted authority over https.
 */
export type ProbeResult = { ok: true; granted: string[]; tenantId?: string | null } | { ok: false; message: string };

/** The `tid` claim of an access token, or null. */
export function tenantOf(accessToken: string): string | null {
  try {
    const payload = accessToken.split('.')[1];
    if (!payload) return null;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown };
    return typeof claims.tid === 'string' ? claims.tid : null;
  } catch {
    return null;
  }
}

/** Obtains one client-credentials token to learn whether credentials work and what they were granted. */
export interface CredentialProbe {
  probe(input: ProbeInput, signal?: AbortSignal): Promise<ProbeResult>;
}

/**
 * One token through graph-core's token provider (the same code the workers authenticate with):
 * the gateway never reads Graph data, it only needs to know the credentials work and the token's
 * `roles` claim.
 */
export class TokenEndpointProbe implements CredentialProbe {
  constructor(private readonly timeoutMs = 10_000) {}

  async probe(input: ProbeInput, signal?: AbortSignal): Promise<ProbeResult> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const client = credentialsGraphClient(input);
      const token = await client.getAccessToken(signal ? AbortSignal.any([signal, timeout]) : timeout);
      return { ok: true, granted: [...rolesOf(token)].sort(), tenantId: tenantOf(token) };
    } catch (err) {
      if (err instanceof GraphAuthError) return { ok: false, message: err.description || err.code };
      const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      return { ok: false, message: `could not obtain a token from ${input.authorityHost}: ${why.split(/\r?\n/)[0]}` };
    }
  }
}
