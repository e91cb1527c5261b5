import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { consentCookieName, type ConnectorService } from './connector.service';

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const escapeHtml = (s: string) => s.replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page whose only dynamic part is escaped text; nothing on it may run or load anything. */
function page(res: Response, status: number, message: string): void {
  res
    .status(status)
    .set({
      'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    })
    .type('html')
    .send(`<!doctype html><meta charset="utf-8"><title>Warden</title><p>${escapeHtml(message)}</p>`);
}

/** The value of one cookie from the Cookie header (no cookie middleware in this app). */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Where the verifier cookie lives: only the gateway's /oauth routes under PUBLIC_URL's path. */
function cookieOptions(publicUrl: string | undefined) {
  const url = publicUrl ? new URL(publicUrl) : null;
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: url?.protocol === 'https:',
    path: `${(url?.pathname ?? '').replace(/\/$/, '')}/oauth`,
  };
}

/**
 * GET /oauth/start?state=… — the admin's browser opens this (AdminConsentStart.startUrl). It binds
 * the state to this browser with an httpOnly, SameSite=Lax verifier cookie (Secure when PUBLIC_URL
 * is https) and redirects to the identity platform's admin-consent page.
 */
export function oauthStartRoute(connectors: ConnectorService, logger: Logger, publicUrl: string | undefined) {
  return async (req: Request, res: Response) => {
    try {
      const state = one(req.query['state']);
      const result = await connectors.startAdminConsent(state);
      if (!('location' in result)) return page(res, result.status, result.message);
      res.cookie(result.cookieName, result.verifier, { ...cookieOptions(publicUrl), maxAge: result.maxAgeMs });
      res.set({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).redirect(302, result.location);
    } catch (err) {
      logger.error({ requestId: req.requestId, err: err instanceof Error ? err.message : String(err) }, 'admin consent start failed');
      page(res, 500, `internal error (request id ${req.requestId ?? ''})`);
    }
  };
}

/** GET /oauth/callback?tenant=…&admin_consent=True&state=… — where Entra sends the admin back. */
export function oauthCallbackRoute(connectors: ConnectorService, logger: Logger, publicUrl?: string) {
  return async (req: Request, res: Response) => {
    try {
      const state = one(req.query['state']);
      const cookieName = state ? consentCookieName(state) : undefined;
      const result = await connectors.completeAdminConsent({
        state,
        verifier: cookieName ? readCookie(req, cookieName) : undefined,
        tenant: one(req.query['tenant']),
        adminConsent: one(req.query['admin_consent']),
        error: one(req.query['error']),
        errorDescription: one(req.query['error_description']),
      });
      // The state is spent (or was never this browser's): the verifier has no further use.
      if (cookieName && readCookie(req, cookieName) !== undefined) res.clearCookie(cookieName, cookieOptions(publicUrl));
      page(res, result.status, result.message);
    } catch (err) {
      logger.error({ requestId: req.requestId, err: err instanceof Error ? err.message : String(err) }, 'admin consent callback failed');
      page(res, 500, `internal error (request id ${req.requestId ?? ''})`);
    }
  };
}
