import { createHash, createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { SignJWT, decodeJwt } from 'jose';
import type { ConnectorCredentials } from '@warden/schema';

export interface ProbeInput {
  tenantId: string;
  clientId: string;
  authorityHost: string;
  graphBaseUrl: string;
  credentials: ConnectorCredentials;
}

export type ProbeResult = { ok: true; granted: string[] } | { ok: false; message: string };

/** Obtains one client-credentials token to learn whether credentials work and what they were granted. */
export interface CredentialProbe {
  probe(input: ProbeInput, signal?: AbortSignal): Promise<ProbeResult>;
}

const NATIONAL_GRAPH_ROOTS = new Set(['graph.microsoft.com', 'graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn']);

/**
 * The token request straight against the v2.0 endpoint: the gateway never reads Graph data, it
 * only needs the token's `roles` claim, so it does not pull in a Graph client.
 */
export class TokenEndpointProbe implements CredentialProbe {
  constructor(private readonly timeoutMs = 10_000) {}

  async probe(input: ProbeInput, signal?: AbortSignal): Promise<ProbeResult> {
    const tokenUrl = `${input.authorityHost.replace(/\/$/, '')}/${encodeURIComponent(input.tenantId)}/oauth2/v2.0/token`;
    const graphHost = new URL(input.graphBaseUrl).hostname;
    // National clouds issue tokens for their own Graph root; anything else (the emulator) uses the public one.
    const resource = NATIONAL_GRAPH_ROOTS.has(graphHost) ? `https://${graphHost}` : 'https://graph.microsoft.com';
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: input.clientId, scope: `${resource}/.default` });
    if (input.credentials.kind === 'secret') {
      form.set('client_secret', input.credentials.clientSecret);
    } else {
      const assertion = await clientAssertion(input.clientId, tokenUrl, input.credentials.certificatePem, input.credentials.privateKeyPem);
      if (!assertion.ok) return assertion;
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', assertion.jwt);
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      return { ok: false, message: `could not reach the token endpoint ${new URL(tokenUrl).origin}: ${why}` };
    }
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
    if (!res.ok || !body.access_token) {
      const description = body.error_description?.split(/\r?\n| Trace ID:/)[0]?.trim();
      return { ok: false, message: description || body.error || `the token endpoint answered HTTP ${res.status}` };
    }
    let roles: unknown;
    try {
      roles = decodeJwt(body.access_token)['roles'];
    } catch {
      return { ok: false, message: 'the identity platform returned a token that is not a JWT' };
    }
    return { ok: true, granted: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string').sort() : [] };
  }
}

async function clientAssertion(clientId: string, audience: string, certificatePem: string, privateKeyPem: string): Promise<{ ok: true; jwt: string } | { ok: false; message: string }> {
  let thumbprint: string;
  let key: ReturnType<typeof createPrivateKey>;
  try {
    const cert = new X509Certificate(certificatePem);
    thumbprint = createHash('sha1').update(cert.raw).digest('base64url');
    key = createPrivateKey(privateKeyPem);
  } catch {
    return { ok: false, message: 'certificatePem or privateKeyPem is not a valid PEM certificate / private key' };
  }
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5t: thumbprint })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setJti(randomUUID())
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime('10m')
    .sign(key);
  return { ok: true, jwt };
}
