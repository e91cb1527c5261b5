import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { ConnectorService } from './connector.service';

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** GET /oauth/callback?tenant=…&admin_consent=True&state=… — where Entra sends the admin back. */
export function oauthCallbackRoute(connectors: ConnectorService, logger: Logger) {
  return async (req: Request, res: Response) => {
    try {
      const result = await connectors.completeAdminConsent({
        state: one(req.query['state']),
        tenant: one(req.query['tenant']),
        adminConsent: one(req.query['admin_consent']),
        error: one(req.query['error']),
        errorDescription: one(req.query['error_description']),
      });
      res.status(result.status).type('html').send(`<!doctype html><title>Warden</title><p>${escapeHtml(result.message)}</p>`);
    } catch (err) {
      logger.error({ requestId: req.requestId, err: err instanceof Error ? err.message : String(err) }, 'admin consent callback failed');
      res.status(500).type('html').send(`<!doctype html><title>Warden</title><p>internal error (request id ${escapeHtml(req.requestId ?? '')})</p>`);
    }
  };
}
