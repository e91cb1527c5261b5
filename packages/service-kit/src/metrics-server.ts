import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

export interface MetricsServer {
  registry: Registry;
  /** http://host:port/metrics, or null when no port was configured. */
  url: string | null;
  close(): Promise<void>;
}

/** Whether `Authorization: Bearer <token>` carries `token` (constant time); always true without a token. */
export function metricsAuthorized(token: string | undefined, header: string | undefined): boolean {
  if (!token) return true;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/** Answers GET /metrics with the registry's text, or 401 without the token (METRICS_TOKEN) when one is set. */
export async function serveMetrics(
  registry: Registry,
  token: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!metricsAuthorized(token, req.headers.authorization)) {
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
    res.end('metrics need Authorization: Bearer <METRICS_TOKEN>\n');
    return;
  }
  try {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(text);
  } catch {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('metrics collection failed\n');
  }
}

/** Named dependency checks for GET /readyz: each resolves true when that dependency answers. */
export type ReadinessChecks = Record<string, () => Promise<boolean> | boolean>;

/** Runs every check (each bounded by `timeoutMs`, a stalled dependency counts as down). */
export async function readiness(checks: ReadinessChecks, timeoutMs = 2_000): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const out: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const ok = await Promise.race([
        Promise.resolve()
          .then(check)
          .catch(() => false),
        timeout,
      ]);
      clearTimeout(timer);
      out[name] = ok ? 'ok' : 'unavailable';
    }),
  );
  return { ready: Object.values(out).every((v) => v === 'ok'), checks: out };
}

/**
 * A service's Prometheus endpoint on its own listener: GET /metrics (behind `token` when set),
 * GET /healthz (liveness: the process answers, whatever its dependencies do) and GET /readyz (503
 * while one of `ready`'s checks fails); everything else is 404. Workers get a fresh registry with process metrics prefixed
 * with `prefix`; the gateway passes its own `registry`. Without `port` nothing listens.
 */
export async function startMetricsServer(opts: {
  prefix?: string;
  registry?: Registry;
  port?: number | undefined;
  host?: string;
  token?: string | undefined;
  ready?: ReadinessChecks;
}): Promise<MetricsServer> {
  const registry = opts.registry ?? new Registry();
  if (!opts.registry) collectDefaultMetrics({ register: registry, prefix: opts.prefix ?? 'warden_' });
  if (opts.port === undefined) return { registry, url: null, close: async () => undefined };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      void serveMetrics(registry, opts.token, req, res);
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      void readiness(opts.ready ?? {}).then((r) => {
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: r.ready ? 'ready' : 'not ready', checks: r.checks }));
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    registry,
    url: `http://${shown}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would otherwise hold the close open.
        server.closeAllConnections();
      }),
  };
}
