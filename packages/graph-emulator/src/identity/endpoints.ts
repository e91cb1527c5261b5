import { randomUUID, X509Certificate, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import type { EmulatorCore } from '../core';
import { GRAPH_AUDIENCE } from './tokens';
import type { EmulatorApp, JsonObject } from '../types';
import { apiAppForResource, apiAppToken, redeemCode, redeemRefreshToken } from './oidc';

export interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body?: JsonObject | string;
  /** A large JSON document produced piecewise (the export of an XL tenant exceeds V8's string limit). */
  stream?: () => Iterable<string>;
}

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export function aadError(status: number, error: string, code: number, description: string): PlainResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const ts = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return {
    status,
    headers: {},
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${ts}`,
      error_codes: [code],
      timestamp: ts,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

export function knownTenant(core: EmulatorCore, t: string): boolean {
  const l = t.toLowerCase();
  return l === core.tenantId || l === core.domain;
}

export function openIdConfiguration(core: EmulatorCore, tenant: string): PlainResponse {
  if (!knownTenant(core, tenant)) return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
  const base = `${core.baseUrl}/${core.tenantId}`;
  return {
    status: 200,
    headers: { 'cache-control': 'max-age=86400, private' },
    body: {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: new URL(core.baseUrl).host,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
    },
  };
}

export function instanceDiscovery(core: EmulatorCore): PlainResponse {
  const host = new URL(core.baseUrl).host;
  return {
    status: 200,
    headers: {},
    body: {
      tenant_discovery_endpoint: `${core.baseUrl}/${core.tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    },
  };
}

export function verifyAssertion(core: EmulatorCore, app: EmulatorApp, assertion: string): string | null {
  if (!app.certificatePem) return 'No certificate credential is registered for this application.';
  const parts = assertion.split('.');
  if (parts.length !== 3) return 'Client assertion is not a JWT.';
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: string };
  let payload: { aud?: string; iss?: string; sub?: string; exp?: number; nbf?: number };
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as typeof payload;
  } catch {
    return 'Client assertion is not a JWT.';
  }
  const key = createPublicKey(new X509Certificate(app.certificatePem).publicKey.export({ type: 'spki', format: 'pem' }));
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  let ok = false;
  if (header.alg === 'RS256') ok = cryptoVerify('sha256', data, key, sig);
  else if (header.alg === 'PS256') ok = cryptoVerify('sha256', data, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, sig);
  else return `Unsupported client assertion algorithm '${header.alg ?? ''}'.`;
  if (!ok) return 'Client assertion contains an invalid signature.';
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== 'number' || payload.exp < now) return 'The client assertion has expired.';
  if (payload.iss !== app.clientId || payload.sub !== app.clientId) return 'Client assertion iss/sub must be the client id.';
  const expectedAud = `${core.baseUrl}/${core.tenantId}/oauth2/v2.0/token`;
  const altAud = `${core.baseUrl}/${core.domain}/oauth2/v2.0/token`;
  if (payload.aud !== expectedAud && payload.aud !== altAud && payload.aud !== `${core.baseUrl}/${core.tenantId}/v2.0`) {
    return `Client assertion audience claim does not match Realm issuer.`;
  }
  return null;
}

/**
 * The v2.0 token endpoint: client credentials (secret or certificate assertion) for Microsoft Graph,
 * the emulator's origin or an API app of the tenant (Warden); authorization_code and refresh_token
 * for signed-in users (`oidc.ts`).
 */
export function tokenEndpoint(
  core: EmulatorCore,
  tenant: string,
  form: URLSearchParams,
  basicAuth?: { id: string; secret: string },
): PlainResponse {
  if (!knownTenant(core, tenant))
    return aadError(
      400,
      'invalid_request',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  const grant = form.get('grant_type');
  if (grant === 'authorization_code') return redeemCode(core, form, basicAuth);
  if (grant === 'refresh_token') return redeemRefreshToken(core, form, basicAuth);
  if (grant !== 'client_credentials') {
    return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant ?? ''}'.`);
  }
  const clientId = form.get('client_id') ?? basicAuth?.id ?? '';
  const app = core.appByClientId(clientId);
  if (!app) {
    return aadError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${core.domain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  const scope = form.get('scope') ?? '';
  const scopes = scope.split(/\s+/).filter(Boolean);
  if (scopes.length !== 1 || !/\/\.default$/.test(scopes[0] as string)) {
    return aadError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resource = (scopes[0] as string).replace(/\/\.default$/, '');
  // Microsoft Graph's resource (by URI or app id), or this emulator's own origin: a client configured
  // with the emulator as its Graph root asks for `<emulator origin>/.default`, like a national cloud
  // asks for its own Graph root, and gets a token whose aud is that origin.
  // The `linkBaseUrl` origin counts as its own too: the emulator answers there (behind a proxy).
  const origins = [core.baseUrl, core.settings.linkBaseUrl].filter((o): o is string => !!o).map((o) => new URL(o).origin);
  const asked = resource.replace(/\/+$/, '').toLowerCase();
  const audience =
    resource === 'https://graph.microsoft.com' || resource === '00000003-0000-0000-c000-000000000000'
      ? GRAPH_AUDIENCE
      : (origins.find((o) => o.toLowerCase() === asked) ?? null);
  const apiApp = audience ? undefined : apiAppForResource(core, resource);
  if (!audience && !apiApp) {
    return aadError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${core.domain}.`,
    );
  }
  core.stats.tokenScope(scopes[0] as string);
  const assertionType = form.get('client_assertion_type');
  const assertion = form.get('client_assertion');
  const secret = form.get('client_secret') ?? basicAuth?.secret;
  let certificate = false;
  if (assertionType || assertion) {
    if (assertionType !== ASSERTION_TYPE || !assertion) {
      return aadError(
        400,
        'invalid_request',
        50027,
        'Invalid JWT token: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.',
      );
    }
    const problem = verifyAssertion(core, app, assertion);
    if (problem) return aadError(401, 'invalid_client', 700027, `Client assertion failed signature validation. ${problem}`);
    certificate = true;
  } else if (!secret) {
    return aadError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  } else if (secret !== app.clientSecret) {
    return aadError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
    );
  }
  if (apiApp) return apiAppToken(core, apiApp, app, certificate);
  const issued = core.tokens.issue({
    audience: audience as string,
    clientId: app.clientId,
    displayName: `Warden ${app.name}`,
    servicePrincipalId: core.servicePrincipalIdFor(app.clientId),
    roles: app.roles,
    certificate,
    lifetimeSeconds: core.settings.tokenLifetimeSeconds ?? 3599,
  });
  core.stats.token();
  return {
    status: 200,
    headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
    body: { token_type: 'Bearer', expires_in: issued.expiresIn, ext_expires_in: issued.expiresIn, access_token: issued.token },
  };
}

/** Admin consent: redirects back with tenant, admin_consent=True and the caller's state. */
export function adminConsent(core: EmulatorCore, tenant: string, q: URLSearchParams): PlainResponse {
  if (!knownTenant(core, tenant) && tenant !== 'common' && tenant !== 'organizations') {
    return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
  }
  const clientId = q.get('client_id') ?? '';
  const redirect = q.get('redirect_uri');
  if (!redirect) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'redirect_uri'.");
  const url = new URL(redirect);
  const app = core.appByClientId(clientId);
  if (!app) {
    url.searchParams.set('error', 'unauthorized_client');
    url.searchParams.set('error_description', `AADSTS700016: Application with identifier '${clientId}' was not found in the directory.`);
  } else {
    url.searchParams.set('tenant', core.tenantId);
    url.searchParams.set('admin_consent', 'True');
    if (q.get('scope')) url.searchParams.set('scope', q.get('scope') as string);
  }
  const state = q.get('state');
  if (state !== null) url.searchParams.set('state', state);
  return { status: 302, headers: { location: url.toString() } };
}
