import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sql, type Kysely } from 'kysely';
import type { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import type { Bus } from '@warden/bus';
import type { Database } from '@warden/database';
import type { Metrics } from './metrics';
import { readiness, serveMetrics } from '@warden/service-kit';

declare module 'express-serve-static-core' {
  interface Request {
    requestId?: string;
  }
}

/**
 * Request id (honouring a sane incoming x-request-id), one pino line per request, duration metric:
 * started once per request by whichever entry takes it first (the HTTP fast path before Express, or
 * Express), which records the id on the request.
 */
export function requestLogger(logger: Logger, metrics: Metrics) {
  return (req: IncomingMessage & { requestId?: string }, res: ServerResponse, path: string): string => {
    if (req.requestId !== undefined) return req.requestId;
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    req.requestId = id;
    res.setHeader('x-request-id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = path === '/graphql' || path.startsWith('/oauth') || ['/healthz', '/readyz', '/metrics'].includes(path) ? path : 'other';
      metrics.httpDuration.observe({ method: req.method ?? '', route, status: String(res.statusCode) }, seconds);
      if (route === '/healthz' || route === '/readyz' || route === '/metrics') return;
      logger.info({ requestId: id, method: req.method, path, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
    });
    return id;
  };
}

export function requestLog(logger: Logger, metrics: Metrics) {
  const start = requestLogger(logger, metrics);
  return (req: Request, res: Response, next: NextFunction) => {
    // Read now: a router mounted at /graphql rewrites req.url, and Apollo answers without handing it back.
    start(req, res, req.path);
    next();
  };
}

/**
 * /healthz, /readyz and — only when METRICS_TOKEN is set, and then only with that token — /metrics
 * on the API port (otherwise /metrics lives on METRICS_PORT alone; see metrics-server.ts).
 */
export function opsRoutes(
  router: Router,
  deps: { db: Kysely<Database>; bus: Bus; metrics: Metrics; metricsToken?: string | undefined },
): void {
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    // Each check is bounded: a stalled Postgres connection makes the gateway unready, not the probe hang.
    const r = await readiness({
      postgres: async () => (await sql`SELECT 1 AS ok`.execute(deps.db)).rows.length === 1,
      nats: () => deps.bus.isConnected(),
    });
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  const metricsToken = deps.metricsToken;
  if (metricsToken) router.get('/metrics', (req, res) => serveMetrics(deps.metrics.registry, metricsToken, req, res));
}
