import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Bus } from '@warden/bus';
import type { Database } from '@warden/database';
import type { SecretBox } from '@warden/service-kit';
import { UnauthenticatedError } from '../errors';
import { appendCallerAudit } from './audit-actor';
import type { OidcVerifier } from './oidc';
import type { Caller, CallerRole } from './roles';

/**
 * Browser sign-in through the gateway, as a backend-for-frontend (IETF "OAuth 2.0 for Browser-Based
 * Applications"): the gateway is the confidential OAuth client, runs authorization code + PKCE (S256)
 * with OIDC_ISSUER, keeps the provider's tokens server-side (Postgres, sealed with SecretBox) and
 * gives the browser only an opaque, httpOnly session cookie.
 *
 * - `GET /auth/login[?returnTo=/path&login_hint=…&prompt=none|login|select_account|consent]`
 * - `GET /auth/callback` (the redirect URI `${PUBLIC_URL}/auth/callback`)
 * - `POST /auth/logout`
 *
 * GraphQL accepts the session cookie where it accepts a bearer token (`callerFor`), with a CSRF
 * check (`csrfRefusal`): a cookie-authenticated request must be a POST with content-type
 * application/json and an Origin equal to PUBLIC_URL's origin; a graphql-ws upgrade with the cookie
 * must carry that Origin.
 */

export const PROMPTS = ['none', 'login', 'select_account', 'consent'] as const;
const LOGIN_TTL_MS = 10 * 60_000;
/** An access token this close to its expiry is refreshed (or the session ends). */
const REFRESH_MARGIN_MS = 60_000;
/** last_seen_at is written at most this often per session (the idle timeout's resolution). */
const TOUCH_EVERY_MS = 60_000;
const MAX_HINT = 256;

export interface BrowserAuthConfig {
  publicUrl: string;
  clientId: string;
  clientSecret: string;
  apiScope: string;
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
}

const b64 = (n: number) => randomBytes(n).toString('base64url');
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The value of one cookie of a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0 || part.slice(0, i).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * `returnTo` when it is a path on this origin ("/connectors?x=1"), else "/": no scheme, no
 * protocol-relative `//host`, no backslashes or control characters (open-redirect safe).
 */
export function safeReturnTo(value: unknown, origin: string): string {
  if (typeof value !== 'string' || value.length > 2_048) return '/';
  // eslint-disable-next-line no-control-regex
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /[\u0000-\u001f\u007f]/.test(value)) return '/';
  try {
    const u = new URL(value, origin);
    return u.origin === origin ? `${u.pathname}${u.search}${u.hash}` : '/';
  } catch {
    return '/';
  }
}

interface TokenAnswer {
  access_token?: string;
  id_token?: string;
  refresh_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

export class BrowserAuth {
  readonly origin: string;
  readonly secure: boolean;
  readonly sessionCookie: string;
  readonly loginCookie: string;
  private readonly redirectUri: string;
  private readonly refreshing = new Map<string, Promise<Caller>>();
  /** Per session (id hash): what to do when it ends on this replica (graphql-ws sockets close). */
  private readonly enders = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly cfg: BrowserAuthConfig,
    private readonly oidc: OidcVerifier,
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
    private readonly logger: Logger,
    /** Sessions end on every replica: a logout handled here closes the sockets another replica holds. */
    private readonly bus: Bus,
  ) {
    this.unsubscribe = bus.subscribeBrowserSessionEnded((e) => this.runEnders(e.idHash));
    const u = new URL(cfg.publicUrl);
    this.origin = u.origin;
    this.secure = u.protocol === 'https:';
    this.sessionCookie = this.secure ? '__Host-warden_session' : 'warden_session';
    this.loginCookie = this.secure ? '__Host-warden_login' : 'warden_login';
    this.redirectUri = `${cfg.publicUrl.replace(/\/+$/, '')}/auth/callback`;
  }

  private cookieOptions(maxAgeMs?: number): express.CookieOptions {
    return { httpOnly: true, sameSite: 'lax', secure: this.secure, path: '/', ...(maxAgeMs !== undefined ? { maxAge: maxAgeMs } : {}) };
  }

  /** The session cookie of a request, if it has one. */
  sessionOf(headers: IncomingMessage['headers']): string | undefined {
    return cookieValue(headers.cookie, this.sessionCookie);
  }

  /**
   * Why a cookie-authenticated request is refused as a possible cross-site request, or null:
   * a POST with content-type application/json (a cross-site form cannot send it without a CORS
   * preflight, which this gateway never grants) and Origin equal to PUBLIC_URL's.
   */
  csrfRefusal(req: Request, requireJson = true): string | null {
    if (req.method !== 'POST') return 'a request authenticated by the session cookie must be a POST';
    if (requireJson && !(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json'))
      return 'a request authenticated by the session cookie must have content-type application/json';
    if (req.headers.origin !== this.origin) return `a request authenticated by the session cookie must come from ${this.origin}`;
    return null;
  }

  /** The caller of a session cookie; UnauthenticatedError when it is unknown, expired or cannot be refreshed. */
  async callerFor(cookie: string): Promise<{ caller: Caller; expiresAt: number; id: string }> {
    const idHash = sha256(cookie);
    const row = await this.db.selectFrom('browser_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    if (!row) throw new UnauthenticatedError('the session is not valid or has ended; sign in again');
    const now = Date.now();
    const idleEnd = row.last_seen_at.getTime() + this.cfg.idleTimeoutSeconds * 1000;
    if (row.absolute_expires_at.getTime() <= now || idleEnd <= now) {
      await this.end(idHash);
      throw new UnauthenticatedError('the session has expired; sign in again');
    }
    let caller: Caller = {
      sub: row.subject,
      role: row.role as CallerRole,
      ...(row.tid ? { tid: row.tid } : {}),
      ...(row.oid ? { oid: row.oid } : {}),
      ...(row.name ? { name: row.name } : {}),
    };
    if (row.access_expires_at.getTime() - REFRESH_MARGIN_MS <= now) {
      if (!row.refresh_token) {
        await this.end(idHash);
        throw new UnauthenticatedError('the session has expired; sign in again');
      }
      let pending = this.refreshing.get(idHash);
      if (!pending) {
        pending = this.refresh(idHash, this.box.decrypt(row.refresh_token, `session:${idHash}:refresh`)).finally(() =>
          this.refreshing.delete(idHash),
        );
        this.refreshing.set(idHash, pending);
      }
      caller = await pending;
    } else if (now - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
      await this.db
        .updateTable('browser_sessions')
        .set({ last_seen_at: new Date(now) })
        .where('id_hash', '=', idHash)
        .execute();
    }
    return { caller, expiresAt: row.absolute_expires_at.getTime(), id: idHash };
  }

  /** Runs `fn` when the session `id` (callerFor's) ends on this replica (logout, expiry); returns the unsubscribe. */
  onEnd(id: string, fn: () => void): () => void {
    let set = this.enders.get(id);
    if (!set) this.enders.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.enders.get(id) === set) this.enders.delete(id);
    };
  }

  /** Deletes the session (returns its row, if it existed) and closes its sockets on every replica. */
  private async end(idHash: string) {
    const row = await this.db.deleteFrom('browser_sessions').where('id_hash', '=', idHash).returningAll().executeTakeFirst();
    this.runEnders(idHash);
    this.bus.publishBrowserSessionEnded({ v: 1, idHash, at: new Date().toISOString() });
    return row;
  }

  private runEnders(idHash: string): void {
    const set = this.enders.get(idHash);
    this.enders.delete(idHash);
    for (const fn of set ?? []) fn();
  }

  /** Stops listening for other replicas' session ends (the gateway's close). */
  close(): void {
    this.unsubscribe();
  }

  private async audit(caller: Caller, action: 'session.started' | 'session.ended', details: Record<string, unknown>): Promise<void> {
    try {
      await appendCallerAudit(this.db, caller, { action, details: { role: caller.role, ...details } });
    } catch (err) {
      this.logger.error({ err: err instanceof Error ? err.message : String(err), action }, 'could not audit a browser session');
    }
  }

  private async tokenRequest(params: Record<string, string>): Promise<TokenAnswer & { status: number }> {
    const { token_endpoint } = await this.oidc.metadata();
    if (!token_endpoint) throw new Error('the discovery document names no https token_endpoint');
    const res = await fetch(token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: this.cfg.clientId, client_secret: this.cfg.clientSecret, ...params }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => ({}))) as TokenAnswer;
    return { ...body, status: res.status };
  }

  private async refresh(idHash: string, refreshToken: string): Promise<Caller> {
    let answer: TokenAnswer & { status: number };
    try {
      answer = await this.tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken, scope: this.scope() });
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'session refresh failed');
      throw new UnauthenticatedError('the session could not be refreshed; sign in again');
    }
    if (answer.status !== 200 || !answer.access_token) {
      await this.end(idHash);
      throw new UnauthenticatedError('the session could not be refreshed; sign in again');
    }
    const caller = await this.oidc.verify(answer.access_token).catch(async (err: unknown) => {
      await this.end(idHash);
      throw err;
    });
    const now = new Date();
    await this.db
      .updateTable('browser_sessions')
      .set({
        ...this.claimColumns(caller),
        access_token: this.box.encrypt(answer.access_token, `session:${idHash}:access`),
        ...(answer.refresh_token ? { refresh_token: this.box.encrypt(answer.refresh_token, `session:${idHash}:refresh`) } : {}),
        access_expires_at: accessExpiry(answer.access_token, answer.expires_in),
        last_seen_at: now,
      })
      .where('id_hash', '=', idHash)
      .execute();
    return caller;
  }

  private claimColumns(caller: Caller) {
    return { subject: caller.sub, role: caller.role, tid: caller.tid ?? null, oid: caller.oid ?? null, name: caller.name ?? null };
  }

  private scope(): string {
    return `openid profile offline_access ${this.cfg.apiScope}`;
  }

  private page(res: Response, status: number, title: string, message: string): void {
    res
      .status(status)
      .set('cache-control', 'no-store')
      .type('html')
      .send(
        `<!doctype html><meta charset="utf-8"><title>Warden — ${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="/auth/login">Sign in</a></p>`,
      );
  }

  /** GET /auth/login */
  login() {
    return async (req: Request, res: Response): Promise<void> => {
      try {
        const q = req.query;
        const prompt = q['prompt'];
        if (prompt !== undefined && !(typeof prompt === 'string' && (PROMPTS as readonly string[]).includes(prompt))) {
          this.page(res, 400, 'Sign-in refused', `prompt must be one of ${PROMPTS.join(', ')}`);
          return;
        }
        const hint = q['login_hint'];
        if (hint !== undefined && !(typeof hint === 'string' && hint.length > 0 && hint.length <= MAX_HINT)) {
          this.page(res, 400, 'Sign-in refused', 'login_hint must be one account name');
          return;
        }
        const { authorization_endpoint } = await this.oidc.metadata();
        if (!authorization_endpoint) throw new Error('the discovery document names no https authorization_endpoint');
        const state = b64(32);
        const nonce = b64(32);
        const verifier = b64(32);
        const binding = b64(32);
        await this.db
          .insertInto('browser_logins')
          .values({
            state,
            binding_hash: sha256(binding),
            nonce,
            code_verifier: this.box.encrypt(verifier, `login:${state}`),
            return_to: safeReturnTo(q['returnTo'], this.origin),
            expires_at: new Date(Date.now() + LOGIN_TTL_MS),
          })
          .execute();
        // Old, unfinished sign-ins.
        await this.db
          .deleteFrom('browser_logins')
          .where('expires_at', '<', new Date(Date.now() - LOGIN_TTL_MS))
          .execute();
        const target = new URL(authorization_endpoint);
        const params: Record<string, string> = {
          client_id: this.cfg.clientId,
          response_type: 'code',
          response_mode: 'query',
          redirect_uri: this.redirectUri,
          scope: this.scope(),
          state,
          nonce,
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
          ...(typeof hint === 'string' ? { login_hint: hint } : {}),
          ...(typeof prompt === 'string' ? { prompt } : {}),
        };
        for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
        res.cookie(this.loginCookie, binding, this.cookieOptions(LOGIN_TTL_MS));
        res.set('cache-control', 'no-store').redirect(302, target.toString());
      } catch (err) {
        this.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'sign-in could not start');
        this.page(res, 502, 'Sign-in unavailable', 'the identity provider could not be reached; try again shortly');
      }
    };
  }

  /** GET /auth/callback */
  callback() {
    return async (req: Request, res: Response): Promise<void> => {
      const binding = cookieValue(req.headers.cookie, this.loginCookie);
      if (binding !== undefined) res.clearCookie(this.loginCookie, this.cookieOptions());
      const state = typeof req.query['state'] === 'string' ? req.query['state'] : undefined;
      if (!state || binding === undefined) {
        this.page(res, 400, 'Sign-in refused', 'this sign-in was not started in this browser (no sign-in state); start again');
        return;
      }
      // Consumed only by the browser that started it: a wrong cookie does not burn the state.
      const bindingHash = sha256(binding);
      const login = await this.db
        .updateTable('browser_logins')
        .set({ used_at: new Date() })
        .where('state', '=', state)
        .where('binding_hash', '=', bindingHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', new Date())
        .returningAll()
        .executeTakeFirst();
      if (!login || !sameHash(bindingHash, login.binding_hash)) {
        this.page(
          res,
          400,
          'Sign-in refused',
          'this sign-in is unknown, expired, already completed or was started in another browser; start again',
        );
        return;
      }
      const error = req.query['error'];
      if (typeof error === 'string') {
        // e.g. login_required after prompt=none: back to the app with a flag, no session.
        const back = new URL(login.return_to, this.origin);
        back.searchParams.set('auth_error', /^[a-z_]{1,64}$/.test(error) ? error : 'access_denied');
        res.set('cache-control', 'no-store').redirect(302, `${back.pathname}${back.search}${back.hash}`);
        return;
      }
      const code = req.query['code'];
      if (typeof code !== 'string' || !code) {
        this.page(res, 400, 'Sign-in refused', 'the identity provider returned no authorization code');
        return;
      }
      try {
        const answer = await this.tokenRequest({
          grant_type: 'authorization_code',
          code,
          redirect_uri: this.redirectUri,
          code_verifier: this.box.decrypt(login.code_verifier, `login:${state}`),
        });
        if (answer.status !== 200 || !answer.access_token || !answer.id_token) {
          this.logger.warn({ status: answer.status, error: answer.error }, 'the authorization code was not redeemed');
          this.page(res, 400, 'Sign-in failed', 'the identity provider did not accept the sign-in; start again');
          return;
        }
        const id = await this.oidc.verifyIdToken(answer.id_token, this.cfg.clientId, login.nonce);
        const caller = await this.oidc.verify(answer.access_token);
        if (typeof id['oid'] === 'string' && caller.oid && id['oid'] !== caller.oid)
          throw new UnauthenticatedError('id and access token name different users');
        const session = b64(32);
        const idHash = sha256(session);
        const now = Date.now();
        const absolute = new Date(now + this.cfg.maxLifetimeSeconds * 1000);
        await this.db
          .insertInto('browser_sessions')
          .values({
            id_hash: idHash,
            ...this.claimColumns(caller),
            access_token: this.box.encrypt(answer.access_token, `session:${idHash}:access`),
            refresh_token: answer.refresh_token ? this.box.encrypt(answer.refresh_token, `session:${idHash}:refresh`) : null,
            id_token: this.box.encrypt(answer.id_token, `session:${idHash}:id`),
            access_expires_at: accessExpiry(answer.access_token, answer.expires_in),
            last_seen_at: new Date(now),
            absolute_expires_at: absolute,
          })
          .execute();
        await this.db.deleteFrom('browser_sessions').where('absolute_expires_at', '<', new Date(now)).execute();
        await this.audit(caller, 'session.started', { absoluteExpiresAt: absolute.toISOString() });
        res.cookie(this.sessionCookie, session, this.cookieOptions(this.cfg.maxLifetimeSeconds * 1000));
        res.set('cache-control', 'no-store').redirect(302, login.return_to);
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'sign-in failed');
        this.page(res, 400, 'Sign-in failed', err instanceof UnauthenticatedError ? err.message : 'the sign-in could not be completed');
      }
    };
  }

  /** POST /auth/logout (Origin-checked): ends the session, clears the cookie, then the provider's logout or 204. */
  logout() {
    return async (req: Request, res: Response): Promise<void> => {
      const refusal = this.csrfRefusal(req, false);
      if (refusal) {
        res.status(403).type('text').send(refusal);
        return;
      }
      const cookie = this.sessionOf(req.headers);
      if (cookie !== undefined) {
        const row = await this.end(sha256(cookie));
        if (row)
          await this.audit(
            {
              sub: row.subject,
              role: row.role as CallerRole,
              ...(row.tid ? { tid: row.tid } : {}),
              ...(row.oid ? { oid: row.oid } : {}),
              ...(row.name ? { name: row.name } : {}),
            },
            'session.ended',
            { reason: 'logout' },
          );
        res.clearCookie(this.sessionCookie, this.cookieOptions());
      }
      const { end_session_endpoint } = await this.oidc.metadata().catch(() => ({ end_session_endpoint: undefined }));
      if (end_session_endpoint) {
        const target = new URL(end_session_endpoint);
        target.searchParams.set('client_id', this.cfg.clientId);
        res.set('cache-control', 'no-store').redirect(303, target.toString());
        return;
      }
      res.status(204).end();
    };
  }

  routes(router: express.Router): void {
    router.get('/auth/login', this.login());
    router.get('/auth/callback', this.callback());
    router.post('/auth/logout', this.logout());
  }
}

/** Browser routes without the configuration they need: a clear 503 page. */
export function disabledBrowserRoutes(router: express.Router): void {
  const off = (_req: Request, res: Response) => {
    res
      .status(503)
      .type('html')
      .send(
        '<!doctype html><meta charset="utf-8"><title>Warden</title><p>Browser sign-in is not configured on this gateway (it needs OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and PUBLIC_URL).</p>',
      );
  };
  router.get('/auth/login', off);
  router.get('/auth/callback', off);
  router.post('/auth/logout', off);
}

function accessExpiry(token: string, expiresIn: number | undefined): Date {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp?: unknown }).exp;
    if (typeof exp === 'number') return new Date(exp * 1000);
  } catch {
    // fall through
  }
  return new Date(Date.now() + (expiresIn ?? 300) * 1000);
}
