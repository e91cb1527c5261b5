import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';

/** apps/web/dist next to this app in the repository (and in the Docker image's copy of it). */
export const DEFAULT_CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/dist');

/** Paths the console never answers: the API, sign-in, consent, the export and the probes. */
const API_PATHS = ['/graphql', '/auth', '/oauth', '/audit/export.csv', '/healthz', '/readyz', '/metrics'];

/**
 * The console's policy: scripts and styles only from this origin (Mantine sets inline style
 * attributes and one generated <style> element, hence 'unsafe-inline' for styles only), GraphQL and
 * graphql-ws to this origin only, no framing, forms only to this origin (sign-out).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SAFE_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/**
 * Serves the single-page console from `dir`: hashed assets cached for a year, everything else (and
 * any unknown GET that wants HTML: a deep link such as /connectors/<id>) gets index.html, never
 * cached, so a new deployment is picked up on the next load. Returns null when `dir` holds no build.
 */
export function consoleRoutes(dir: string): express.Router | null {
  const index = path.join(dir, 'index.html');
  if (!existsSync(index)) return null;
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set(SAFE_HEADERS);
    next();
  });
  router.use(
    '/assets',
    express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false }),
    // A missing hashed asset is a plain 404 (an old page asking for a replaced build), never index.html.
    (_req: express.Request, res: express.Response) => {
      res.status(404).type('text').send('not found');
    },
  );
  router.use(express.static(dir, { index: false, maxAge: 0 }));
  router.get(/.*/, (req, res, next) => {
    if (API_PATHS.some((p) => req.path === p || req.path.startsWith(`${p}/`))) return next();
    if (!req.accepts('html')) return next();
    res.set('cache-control', 'no-cache').sendFile(index);
  });
  return router;
}
