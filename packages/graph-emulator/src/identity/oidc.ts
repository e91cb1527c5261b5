import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorCore } from '../core';
import type { Entity } from '../tenant/directory';
import type { EmulatorApp, JsonObject } from '../types';
import { ASSERTION_TYPE, aadError, knownTenant, verifyAssertion, type PlainResponse } from './endpoints';
import { appRolesOf } from './warden';

/** The OpenID Connect side of the identity platform: authorize, code and refresh grants, v2.0 tokens. */

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
const GRAPH_RESOURCE_ID = '00000003-0000-0000-c000-000000000000';
const CODE_LIFETIME_MS = 10 * 60 * 1000;
const ID_TOKEN_LIFETIME_S = 3600;
const REFRESH_LIFETIME_MS = 90 * 86_400_000;
/** Refresh tokens issued to single-page/public redirect URIs live 24 hours in Entra. */
const PUBLIC_REFRESH_LIFETIME_MS = 86_400_000;

interface ScopeSet {
  /** Requested OIDC scopes (openid, profile, email, offline_access). */
  oidc: string[];
  /** The access token's resource: an API app of the tenant, or Microsoft Graph. */
  resource: { kind: 'api'; app: EmulatorApp } | { kind: 'graph' };
  /** Delegated scopes on that resource (`scp`). */
  scp: string[];
  /** The scope string the token response reports. */
  granted: string;
}

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  publicClient: boolean;
  userId: string;
  scopes: string[];
  nonce?: string;
  codeChallenge?: string;
  expiresAt: number;
  redeemed: boolean;
}

interface RefreshGrant {
  clientId: string;
  publicClient: boolean;
  userId: string;
  scopes: string[];
  expiresAt: number;
}

interface OidcState {
  codes: Map<string, CodeGrant>;
  refresh: Map<string, RefreshGrant>;
}

const states = new WeakMap<EmulatorCore, OidcState>();
function stateOf(core: EmulatorCore): OidcState {
  let s = states.get(core);
  if (!s) states.set(core, (s = { codes: new Map(), refresh: new Map() }));
  const now = Date.now();
  // Expired codes are kept an hour longer, so a late redemption gets "expired" (70008), not "unknown".
  for (const [k, g] of s.codes) if (g.expiresAt + 3_600_000 < now) s.codes.delete(k);
  for (const [k, g] of s.refresh) if (g.expiresAt < now) s.refresh.delete(k);
  return s;
}

const noStore = { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** `api://<client id>/x` or `<client id>/x` of an API app of the tenant. */
function apiScope(core: EmulatorCore, scope: string): { app: EmulatorApp; name: string } | undefined {
  for (const app of core.apps) {
    if (!app.api) continue;
    for (const prefix of [`${app.api.identifierUri}/`, `${app.clientId}/`]) {
      if (scope.toLowerCase().startsWith(prefix.toLowerCase())) return { app, name: scope.slice(prefix.length) };
    }
  }
  return undefined;
}

/** Splits a delegated scope request into OIDC scopes and one resource's scopes, as Entra does. */
export function parseDelegatedScopes(core: EmulatorCore, raw: string): ScopeSet | { error: PlainResponse; code: number; message: string } {
  const list = raw.split(/\s+/).filter(Boolean);
  const oidc = list.filter((s) => OIDC_SCOPES.has(s.toLowerCase())).map((s) => s.toLowerCase());
  const rest = list.filter((s) => !OIDC_SCOPES.has(s.toLowerCase()));
  const fail = (code: number, error: string, message: string) => ({ error: aadError(400, error, code, message), code, message });
  let api: EmulatorApp | undefined;
  let graph = false;
  const scp: string[] = [];
  for (const s of rest) {
    const a = apiScope(core, s);
    if (a) {
      if (api && api !== a.app)
        return fail(
          28000,
          'invalid_scope',
          `Provided value for the input parameter scope '${raw}' is not valid because it contains more than one resource.`,
        );
      api = a.app;
      if (a.name === '.default') scp.push(...(a.app.api?.scopes ?? []));
      else if (a.app.api?.scopes.includes(a.name)) scp.push(a.name);
      else
        return fail(
          65005,
          'invalid_scope',
          `The application '${a.app.name}' asked for scope '${a.name}' that doesn't exist on the resource '${a.app.clientId}'.`,
        );
      continue;
    }
    const g = /^(?:https:\/\/graph\.microsoft\.com\/|00000003-0000-0000-c000-000000000000\/)?([A-Za-z][\w.]*)$/.exec(s);
    if (g || s === 'https://graph.microsoft.com/.default') {
      graph = true;
      scp.push(g && g[1] !== 'default' ? (g[1] as string) : 'User.Read');
      continue;
    }
    return fail(70011, 'invalid_scope', `The provided value for the input parameter 'scope' is not valid. The scope ${s} is not valid.`);
  }
  if (api && graph)
    return fail(
      28000,
      'invalid_scope',
      `Provided value for the input parameter scope '${raw}' is not valid because it contains more than one resource.`,
    );
  if (!list.length) return fail(900144, 'invalid_request', "The request body must contain the following parameter: 'scope'.");
  const unique = [...new Set(scp)];
  if (api?.api) {
    const base = api.api.identifierUri;
    return { oidc, resource: { kind: 'api', app: api }, scp: unique, granted: [...unique.map((s) => `${base}/${s}`), ...oidc].join(' ') };
  }
  // Only OIDC scopes (or Graph ones): Entra issues a Microsoft Graph token (User.Read at least).
  const graphScp = unique.length ? unique : ['User.Read'];
  return { oidc, resource: { kind: 'graph' }, scp: graphScp, granted: [...graphScp, ...oidc].join(' ') };
}

export function findUser(core: EmulatorCore, login: string): Entity | undefined {
  const k = login.trim().toLowerCase();
  if (!k) return undefined;
  const byId = core.dir.users.get(k);
  if (byId) return byId;
  for (const u of core.dir.users.values()) if (String(u['userPrincipalName']).toLowerCase() === k) return u;
  return undefined;
}

function isLoopback(u: URL): boolean {
  return u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]');
}

/** Registered redirect URIs match exactly; http loopback ones match on any port (Entra's localhost exception). */
function matchRedirect(app: EmulatorApp, redirectUri: string): { publicClient: boolean } | undefined {
  const api = app.api;
  if (!api) return undefined;
  let req: URL;
  try {
    req = new URL(redirectUri);
  } catch {
    return undefined;
  }
  const same = (registered: string): boolean => {
    if (registered === redirectUri) return true;
    let r: URL;
    try {
      r = new URL(registered);
    } catch {
      return false;
    }
    if (!isLoopback(r) || !isLoopback(req)) return false;
    return r.hostname === req.hostname && r.pathname === req.pathname && r.search === req.search;
  };
  if (api.redirectUris.some(same)) return { publicClient: false };
  if (api.publicClientRedirectUris.some(same)) return { publicClient: true };
  return undefined;
}

function errorPage(status: number, code: number, message: string): PlainResponse {
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>Sign in to your account</title></head><body>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p id="error">AADSTS${code}: ${escapeHtml(message)}</p>
</body></html>`;
  return { status, headers: { 'content-type': 'text/html; charset=utf-8', ...noStore }, body };
}

function redirectWith(redirectUri: string, params: Record<string, string | undefined>): PlainResponse {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return { status: 302, headers: { location: url.toString(), ...noStore } };
}

function redirectError(redirectUri: string, state: string | undefined, error: string, code: number, message: string): PlainResponse {
  const ts = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return redirectWith(redirectUri, {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${ts}`,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    state,
  });
}

/** Who the sign-in page offers: Warden role holders first, then other enabled members (at most 20). */
function pageUsers(core: EmulatorCore, app: EmulatorApp): { upn: string; name: string; note: string }[] {
  const out: { upn: string; name: string; note: string }[] = [];
  const seen = new Set<string>();
  const add = (upn: string, note: string): void => {
    const u = findUser(core, upn);
    if (!u || seen.has(u.id) || out.length >= 20) return;
    seen.add(u.id);
    out.push({ upn: String(u['userPrincipalName']), name: String(u['displayName']), note });
  };
  if (app.api) {
    for (const [role, upns] of Object.entries(app.api.roleHolders)) for (const upn of upns) add(upn, role);
    for (const g of app.api.viaGroup) for (const upn of g.memberUpns) add(upn, `${g.role} via group ${g.displayName}`);
  }
  for (const u of core.dir.users.values()) {
    if (out.length >= 20) break;
    if (u['accountEnabled'] === true && u['userType'] === 'Member') add(String(u['userPrincipalName']), '');
  }
  return out;
}

function signInPage(core: EmulatorCore, tenant: string, app: EmulatorApp, params: URLSearchParams, problem?: string): PlainResponse {
  const q = new URLSearchParams(params);
  q.delete('login');
  const action = `/${encodeURIComponent(tenant)}/oauth2/v2.0/authorize?${q.toString()}`;
  const users = pageUsers(core, app);
  const hint = params.get('login') ?? params.get('login_hint') ?? '';
  const body = `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to your account</title>
<style>body{font-family:sans-serif;max-width:40em;margin:3em auto}button{display:block;margin:.3em 0;text-align:left;width:100%}.err{color:#a00}</style></head>
<body>
<h1>Sign in</h1>
<p>to <b>${escapeHtml(app.api ? 'Warden' : app.name)}</b> in tenant ${escapeHtml(core.domain)} (Graph emulator: no password is asked)</p>
${problem ? `<p class="err" id="error">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<label>Email, phone, or Skype <input name="login" list="users" value="${escapeHtml(hint)}" autofocus></label>
<datalist id="users">${users.map((u) => `<option value="${escapeHtml(u.upn)}">`).join('')}</datalist>
<button type="submit">Next</button>
</form>
<h2>Pick an account</h2>
<form method="post" action="${escapeHtml(action)}">
${users
  .map(
    (u) =>
      `<button type="submit" name="login" value="${escapeHtml(u.upn)}">${escapeHtml(u.name)} &lt;${escapeHtml(u.upn)}&gt;${u.note ? ` — ${escapeHtml(u.note)}` : ''}</button>`,
  )
  .join('\n')}
</form>
</body></html>`;
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', ...noStore }, body };
}

/**
 * GET/POST /{tenant}/oauth2/v2.0/authorize: validates the client and redirect URI (errors about
 * them are shown as a page, never redirected), then everything else (errors redirect back with
 * `error`, `error_description`, `state`), shows the sign-in page or, after the form post or with
 * `prompt=none` + `login_hint`, redirects with `code`, `state` and `session_state`.
 */
export function authorize(
  core: EmulatorCore,
  tenant: string,
  method: string,
  query: URLSearchParams,
  form?: URLSearchParams,
): PlainResponse {
  const t = tenant.toLowerCase();
  if (!knownTenant(core, tenant) && t !== 'organizations' && t !== 'common') {
    return errorPage(
      400,
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  }
  const params = new URLSearchParams(query);
  if (form) for (const [k, v] of form) params.set(k, v);
  const get = (k: string): string | undefined => params.get(k) ?? undefined;
  const clientId = get('client_id');
  if (!clientId) return errorPage(400, 900144, "The request body must contain the following parameter: 'client_id'.");
  const app = core.appByClientId(clientId);
  if (!app) {
    return errorPage(
      400,
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${core.domain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  if (!app.api || app.api.redirectUris.length + app.api.publicClientRedirectUris.length === 0) {
    return errorPage(400, 500113, 'No reply address is registered for the application.');
  }
  const redirectUri = get('redirect_uri');
  if (!redirectUri) return errorPage(400, 900144, "The request body must contain the following parameter: 'redirect_uri'.");
  const match = matchRedirect(app, redirectUri);
  if (!match) {
    return errorPage(
      400,
      50011,
      `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
    );
  }
  const state = get('state');
  const fail = (error: string, code: number, message: string): PlainResponse => redirectError(redirectUri, state, error, code, message);
  const responseType = get('response_type');
  if (!responseType) return fail('invalid_request', 900144, "The request body must contain the following parameter: 'response_type'.");
  if (responseType !== 'code') {
    return fail(
      'unsupported_response_type',
      700054,
      `response_type '${responseType}' is not enabled for the application (the emulator issues codes only).`,
    );
  }
  const responseMode = get('response_mode') ?? 'query';
  if (responseMode !== 'query')
    return fail('invalid_request', 900144, `response_mode '${responseMode}' is not supported by the emulator; use query.`);
  const scopes = parseDelegatedScopes(core, get('scope') ?? '');
  if ('error' in scopes) {
    const body = scopes.error.body as JsonObject;
    return fail(String(body['error']), scopes.code, scopes.message);
  }
  const challenge = get('code_challenge');
  if (challenge !== undefined) {
    const m = get('code_challenge_method') ?? 'plain';
    if (m !== 'S256')
      return fail('invalid_request', 50149, `Invalid Code_Challenge_method parameter '${m}': the emulator supports S256 only.`);
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail('invalid_request', 501491, 'Invalid size of Code_Challenge parameter.');
  } else if (match.publicClient) {
    return fail('invalid_request', 9002325, 'Proof Key for Code Exchange is required for cross-origin authorization code redemption.');
  }
  const prompt = get('prompt');
  if (prompt !== undefined && !['none', 'login', 'consent', 'select_account'].includes(prompt)) {
    return fail('invalid_request', 90023, `Unsupported 'prompt' value '${prompt}'.`);
  }
  const issue = (user: Entity): PlainResponse => {
    const code = `emu.${randomBytes(48).toString('base64url')}`;
    const s = stateOf(core);
    s.codes.set(code, {
      clientId: app.clientId,
      redirectUri,
      publicClient: match.publicClient,
      userId: user.id,
      scopes: (get('scope') ?? '').split(/\s+/).filter(Boolean),
      ...(get('nonce') !== undefined ? { nonce: get('nonce') as string } : {}),
      ...(challenge !== undefined ? { codeChallenge: challenge } : {}),
      expiresAt: Date.now() + CODE_LIFETIME_MS,
      redeemed: false,
    });
    return redirectWith(redirectUri, { code, state, session_state: randomUUID() });
  };

  if (prompt === 'none') {
    const hint = get('login_hint');
    const user = hint ? findUser(core, hint) : undefined;
    if (!user) return fail('login_required', 50058, 'A silent sign-in request was sent but no user is signed in.');
    if (user['accountEnabled'] !== true) return fail('interaction_required', 50057, 'The user account is disabled.');
    return issue(user);
  }
  const login = method === 'POST' ? form?.get('login') : undefined;
  if (login === undefined || login === null) return signInPage(core, tenant, app, params);
  const user = findUser(core, login);
  if (!user) {
    return signInPage(
      core,
      tenant,
      app,
      params,
      `AADSTS50034: The user account {EUII Hidden} does not exist in the ${core.tenantId} directory. To sign into this application, the account must be added to the directory.`,
    );
  }
  if (user['accountEnabled'] !== true) return signInPage(core, tenant, app, params, 'AADSTS50057: The user account is disabled.');
  return issue(user);
}

/** Entra's pairwise `sub`: stable per user and client application. */
function pairwiseSub(userId: string, clientId: string): string {
  return createHash('sha256').update(`${userId}|${clientId}`).digest('base64url').slice(0, 43);
}

function issuer(core: EmulatorCore): string {
  return `${core.baseUrl}/${core.tenantId}/v2.0`;
}

type ClientAuth = { ok: true; acr: '0' | '1' | '2' } | { ok: false; response: PlainResponse };

function authenticateClient(
  core: EmulatorCore,
  app: EmulatorApp,
  publicClient: boolean,
  form: URLSearchParams,
  basic?: { id: string; secret: string },
): ClientAuth {
  const secret = form.get('client_secret') ?? basic?.secret;
  const assertion = form.get('client_assertion');
  const assertionType = form.get('client_assertion_type');
  if (publicClient) {
    if (secret || assertion) {
      return {
        ok: false,
        response: aadError(
          401,
          'invalid_client',
          700025,
          "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ),
      };
    }
    return { ok: true, acr: '0' };
  }
  if (assertion || assertionType) {
    if (assertionType !== ASSERTION_TYPE || !assertion) {
      return {
        ok: false,
        response: aadError(
          400,
          'invalid_request',
          50027,
          'Invalid JWT token: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.',
        ),
      };
    }
    const problem = verifyAssertion(core, app, assertion);
    if (problem)
      return { ok: false, response: aadError(401, 'invalid_client', 700027, `Client assertion failed signature validation. ${problem}`) };
    return { ok: true, acr: '2' };
  }
  if (!secret) {
    return {
      ok: false,
      response: aadError(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      ),
    };
  }
  if (secret !== app.clientSecret) {
    return {
      ok: false,
      response: aadError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      ),
    };
  }
  return { ok: true, acr: '1' };
}

/** id token, access token and (with offline_access) a refresh token for a signed-in user. */
function userTokens(
  core: EmulatorCore,
  client: EmulatorApp,
  user: Entity,
  scopeList: string[],
  p: { acr: '0' | '1' | '2'; publicClient: boolean; nonce?: string },
): PlainResponse {
  const scopes = parseDelegatedScopes(core, scopeList.join(' '));
  if ('error' in scopes) return scopes.error;
  const now = Math.floor(Date.now() / 1000);
  const life = core.settings.tokenLifetimeSeconds ?? 3599;
  const upn = String(user['userPrincipalName']);
  const name = String(user['displayName']);
  const sub = pairwiseSub(user.id, client.clientId);
  const clientRoles = appRolesOf(core.dir, client, user.id);
  let accessToken: string;
  if (scopes.resource.kind === 'api') {
    const api = scopes.resource.app;
    const roles = appRolesOf(core.dir, api, user.id);
    accessToken = core.tokens.sign({
      aud: api.clientId,
      iss: issuer(core),
      iat: now,
      nbf: now,
      exp: now + life,
      azp: client.clientId,
      azpacr: p.acr,
      idtyp: 'user',
      name,
      oid: user.id,
      preferred_username: upn,
      ...(roles.length ? { roles } : {}),
      scp: scopes.scp.join(' '),
      sub,
      tid: core.tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '2.0',
    });
  } else {
    // Microsoft Graph tokens stay v1.0-shaped whatever endpoint issued them.
    accessToken = core.tokens.sign({
      aud: GRAPH_RESOURCE_ID,
      iss: `https://sts.windows.net/${core.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + life,
      app_displayname: client.api ? 'Warden' : `Warden ${client.name}`,
      appid: client.clientId,
      appidacr: p.acr,
      idtyp: 'user',
      name,
      oid: user.id,
      scp: scopes.scp.join(' '),
      sub,
      tid: core.tenantId,
      unique_name: upn,
      upn,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
    });
  }
  core.stats.token();
  const body: JsonObject = {
    token_type: 'Bearer',
    scope: scopes.granted,
    expires_in: life,
    ext_expires_in: life,
    access_token: accessToken,
  };
  if (scopes.oidc.includes('offline_access')) {
    const rt = `0.emu.${randomBytes(64).toString('base64url')}`;
    stateOf(core).refresh.set(rt, {
      clientId: client.clientId,
      publicClient: p.publicClient,
      userId: user.id,
      scopes: scopeList,
      expiresAt: Date.now() + (p.publicClient ? PUBLIC_REFRESH_LIFETIME_MS : REFRESH_LIFETIME_MS),
    });
    body['refresh_token'] = rt;
    if (p.publicClient) body['refresh_token_expires_in'] = PUBLIC_REFRESH_LIFETIME_MS / 1000;
  }
  if (scopes.oidc.includes('openid')) {
    const mail = user['mail'];
    body['id_token'] = core.tokens.sign({
      aud: client.clientId,
      iss: issuer(core),
      iat: now,
      nbf: now,
      exp: now + ID_TOKEN_LIFETIME_S,
      ...(scopes.oidc.includes('email') && typeof mail === 'string' ? { email: mail } : {}),
      name,
      ...(p.nonce !== undefined ? { nonce: p.nonce } : {}),
      oid: user.id,
      preferred_username: upn,
      ...(clientRoles.length ? { roles: clientRoles } : {}),
      sub,
      tid: core.tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '2.0',
    });
  }
  return { status: 200, headers: noStore, body };
}

function clientFor(core: EmulatorCore, form: URLSearchParams, basic?: { id: string; secret: string }): EmulatorApp | PlainResponse {
  const clientId = form.get('client_id') ?? basic?.id;
  if (!clientId) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
  const app = core.appByClientId(clientId);
  if (!app) {
    return aadError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${core.domain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  return app;
}

function activeUser(core: EmulatorCore, userId: string): { user: Entity } | { error: PlainResponse } {
  const user = core.dir.users.get(userId);
  if (!user) return { error: aadError(400, 'invalid_grant', 50034, 'The user account does not exist in the directory.') };
  if (user['accountEnabled'] !== true) return { error: aadError(400, 'invalid_grant', 50057, 'The user account is disabled.') };
  return { user };
}

/** grant_type=authorization_code: single use, 10 minutes, bound to client and redirect URI, PKCE checked. */
export function redeemCode(core: EmulatorCore, form: URLSearchParams, basic?: { id: string; secret: string }): PlainResponse {
  const app = clientFor(core, form, basic);
  if ('status' in app) return app;
  const code = form.get('code');
  if (!code) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code'.");
  const grant = stateOf(core).codes.get(code);
  if (!grant)
    return aadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid. The code is unknown or has expired.');
  if (grant.expiresAt < Date.now()) {
    return aadError(
      400,
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
    );
  }
  if (grant.redeemed) {
    return aadError(
      400,
      'invalid_grant',
      54005,
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    );
  }
  if (grant.clientId !== app.clientId)
    return aadError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed. The code was issued to another client.');
  const auth = authenticateClient(core, app, grant.publicClient, form, basic);
  if (!auth.ok) return auth.response;
  const redirectUri = form.get('redirect_uri');
  if (!redirectUri)
    return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'redirect_uri'.");
  if (redirectUri !== grant.redirectUri) {
    return aadError(
      400,
      'invalid_grant',
      50011,
      `The reply address '${redirectUri}' does not match the reply address '${grant.redirectUri}' provided when requesting Authorization code.`,
    );
  }
  const verifier = form.get('code_verifier');
  if (grant.codeChallenge !== undefined) {
    if (!verifier)
      return aadError(
        400,
        'invalid_grant',
        501481,
        'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
      );
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier))
      return aadError(400, 'invalid_request', 501491, 'Invalid size of Code_Verifier parameter.');
    const computed = createHash('sha256').update(verifier).digest('base64url');
    if (computed !== grant.codeChallenge) {
      return aadError(
        400,
        'invalid_grant',
        501481,
        'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
      );
    }
  } else if (grant.publicClient) {
    return aadError(
      400,
      'invalid_request',
      9002325,
      'Proof Key for Code Exchange is required for cross-origin authorization code redemption.',
    );
  }
  const active = activeUser(core, grant.userId);
  if ('error' in active) return active.error;
  grant.redeemed = true;
  return userTokens(core, app, active.user, grant.scopes, {
    acr: auth.acr,
    publicClient: grant.publicClient,
    ...(grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
  });
}

/** grant_type=refresh_token: a new access token (and id token, refresh token); the old refresh token stays valid until it expires. */
export function redeemRefreshToken(core: EmulatorCore, form: URLSearchParams, basic?: { id: string; secret: string }): PlainResponse {
  const app = clientFor(core, form, basic);
  if ('status' in app) return app;
  const rt = form.get('refresh_token');
  if (!rt) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'refresh_token'.");
  const grant = stateOf(core).refresh.get(rt);
  if (!grant)
    return aadError(
      400,
      'invalid_grant',
      9002313,
      'Invalid request. Request is malformed or invalid. The refresh token is unknown or has expired.',
    );
  if (grant.clientId !== app.clientId) {
    return aadError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed. The refresh token was issued to another client.');
  }
  const auth = authenticateClient(core, app, grant.publicClient, form, basic);
  if (!auth.ok) return auth.response;
  const active = activeUser(core, grant.userId);
  if ('error' in active) return active.error;
  const requested = form.get('scope');
  let scopes = grant.scopes;
  if (requested) {
    scopes = requested.split(/\s+/).filter(Boolean);
    // offline_access carries over: the client keeps its refresh token.
    if (grant.scopes.includes('offline_access') && !scopes.includes('offline_access')) scopes.push('offline_access');
  }
  return userTokens(core, app, active.user, scopes, { acr: auth.acr, publicClient: grant.publicClient });
}

/** Client credentials for an API app of the tenant (`api://<id>/.default`): a v2.0 app token with the caller's app roles. */
export function apiAppToken(core: EmulatorCore, api: EmulatorApp, client: EmulatorApp, certificate: boolean): PlainResponse {
  const now = Math.floor(Date.now() / 1000);
  const life = core.settings.tokenLifetimeSeconds ?? 3599;
  const spId = core.servicePrincipalIdFor(client.clientId);
  const roles = appRolesOf(core.dir, api, spId);
  const token = core.tokens.sign({
    aud: api.clientId,
    iss: issuer(core),
    iat: now,
    nbf: now,
    exp: now + life,
    azp: client.clientId,
    azpacr: certificate ? '2' : '1',
    idtyp: 'app',
    oid: spId,
    ...(roles.length ? { roles } : {}),
    sub: spId,
    tid: core.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '2.0',
  });
  core.stats.token();
  return { status: 200, headers: noStore, body: { token_type: 'Bearer', expires_in: life, ext_expires_in: life, access_token: token } };
}

/** The resource app a client-credentials scope names, when it is an API app of the tenant. */
export function apiAppForResource(core: EmulatorCore, resource: string): EmulatorApp | undefined {
  const r = resource.replace(/\/+$/, '').toLowerCase();
  return core.apps.find((a) => a.api && (r === a.clientId.toLowerCase() || r === a.api.identifierUri.toLowerCase()));
}

/**
 * GET /{tenant}/oauth2/v2.0/logout: there is no session to end; redirects to `post_logout_redirect_uri`
 * (with `state`) when it is a registered redirect URI of the client (`client_id`) or of any API app,
 * else shows the signed-out page.
 */
export function logout(core: EmulatorCore, tenant: string, q: URLSearchParams): PlainResponse {
  const t = tenant.toLowerCase();
  if (!knownTenant(core, tenant) && t !== 'organizations' && t !== 'common') return errorPage(400, 90002, `Tenant '${tenant}' not found.`);
  const target = q.get('post_logout_redirect_uri');
  const clientId = q.get('client_id');
  const candidates = clientId ? core.apps.filter((a) => a.clientId === clientId) : core.apps;
  if (target && candidates.some((a) => matchRedirect(a, target))) {
    const state = q.get('state');
    return redirectWith(target, { state: state ?? undefined });
  }
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>Sign out</title></head><body><h1>You signed out of your account</h1><p>It's a good idea to close all browser windows.</p></body></html>`;
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', ...noStore }, body };
}
