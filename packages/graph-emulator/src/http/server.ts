import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnsweredRequest, EmulatorCore } from '../core';
import type { GraphRouter } from '../graph/dispatch';
import { adminConsent, instanceDiscovery, openIdConfiguration, tokenEndpoint, type PlainResponse } from '../identity/endpoints';
import { authorize, logout } from '../identity/oidc';
import type { JsonValue } from '../types';
import { latencyFor } from '../settings';
import { errorBody } from './errors';
import { JSON_CONTENT_TYPE, type GraphRequest, type GraphResponse } from './types';

export type ControlHandler = (method: string, path: string, body: unknown, query: URLSearchParams) => Promise<PlainResponse | undefined>;

const MAX_BODY = 20 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    const b = c as Buffer;
    n += b.length;
    if (n > MAX_BODY) throw new Error('request body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function send(res: ServerResponse, r: { status: number; headers: Record<string, string>; body?: JsonValue | string }): void {
  let payload: string | undefined;
  if (r.body !== undefined) payload = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  const headers: Record<string, string | number> = { ...r.headers };
  if (payload !== undefined) {
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['content-type'] = typeof r.body === 'string' ? 'text/plain;charset=utf-8' : 'application/json; charset=utf-8';
    }
    headers['content-length'] = Buffer.byteLength(payload);
  } else {
    headers['content-length'] = 0;
  }
  res.writeHead(r.status, headers);
  res.end(payload);
}

async function sendStream(res: ServerResponse, status: number, chunks: Iterable<string>): Promise<void> {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  let buf = '';
  for (const c of chunks) {
    buf += c;
    if (buf.length > 1 << 20) {
      if (!res.write(buf)) await new Promise((r) => res.once('drain', r));
      buf = '';
    }
  }
  res.end(buf);
}

/** Sends the status line, headers and half of the body, then destroys the socket (no clean end). */
function dropMidResponse(res: ServerResponse, r: GraphResponse): void {
  const payload = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  res.writeHead(r.status, { ...r.headers, 'content-length': Math.max(Buffer.byteLength(payload), 2) });
  res.write(payload.slice(0, Math.floor(payload.length / 2)) || ' ');
  setImmediate(() => res.socket?.destroy());
}

/** Splits "/v1.0/users/abc/memberOf" into decoded segments below /v1.0. */
export function graphPath(pathname: string): { path: string; segments: string[] } {
  const rest = pathname.replace(/^\/v1\.0/i, '') || '/';
  const segments = rest
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { path: rest, segments };
}

function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return Symbol.for('invalid-json');
  }
}

export const INVALID_JSON = Symbol.for('invalid-json');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface HandlerDeps {
  core: EmulatorCore;
  router: GraphRouter;
  control: ControlHandler;
  batch: (outer: GraphRequest) => Promise<GraphResponse>;
}

/**
 * Lets a test act between the moment Graph computed an answer and the moment the client gets it
 * (a page read before a write, delivered after it): the answer stays what it was when computed.
 */
async function runAnswerHooks(core: EmulatorCore, req: AnsweredRequest): Promise<void> {
  for (const hook of [...core.answerHooks]) await hook(req);
}

/** The single request handler: identity platform, control API and Graph v1.0 on one origin. */
export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { core, router } = deps;
  return (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', core.baseUrl);
      const method = (req.method ?? 'GET').toUpperCase();
      const headers = lowerHeaders(req);
      // Identity and control responses carry the correlation headers too (Graph responses set their own).
      const rid = randomUUID();
      res.setHeader('request-id', rid);
      res.setHeader('client-request-id', headers['client-request-id'] || rid);
      const raw = await readBody(req);
      const p = url.pathname;

      if (p.startsWith('/_emulator/') || p === '/_emulator') {
        const body = parseJsonBody(raw);
        const r = await deps.control(
          method,
          p.slice('/_emulator'.length) || '/',
          body === INVALID_JSON ? undefined : body,
          url.searchParams,
        );
        if (r?.stream) {
          await sendStream(res, r.status, r.stream());
          return;
        }
        send(res, r ?? { status: 404, headers: {}, body: { error: `no control route ${method} ${p}` } });
        return;
      }

      if (/^\/v1\.0(\/|$)/i.test(p)) {
        const requestId = randomUUID();
        const clientRequestId = headers['client-request-id'] || requestId;
        const s = core.settings;
        const isBatch = method === 'POST' && /^\/v1\.0\/\$batch\/?$/i.test(p);
        // A $batch takes as long as its slowest chain of items (the batch handler sleeps per item).
        const delay = isBatch ? 0 : latencyFor(s, method, () => core.noise.next());
        if (delay > 0) await sleep(delay);
        if (core.drawFault()) {
          core.stats.fault();
          const status = core.noise.next() < 0.5 ? 503 : 504;
          const code = status === 503 ? 'serviceNotAvailable' : 'gatewayTimeout';
          const msg = status === 503 ? 'Service Unavailable' : 'Gateway Timeout';
          core.stats.request(`${method} (fault)`, status);
          send(res, {
            status,
            headers: {
              'retry-after': '1',
              'request-id': requestId,
              'client-request-id': clientRequestId,
              'content-type': JSON_CONTENT_TYPE,
            },
            body: errorBody(code, msg, requestId, clientRequestId),
          });
          return;
        }
        const { path, segments } = graphPath(p);
        const body = parseJsonBody(raw);
        const greq: GraphRequest = {
          method,
          path,
          segments,
          rawQuery: url.search.replace(/^\?/, ''),
          query: url.searchParams,
          headers,
          body,
          requestId,
          clientRequestId,
          inBatch: false,
        };
        if (body === INVALID_JSON) {
          send(res, {
            status: 400,
            headers: { 'request-id': requestId, 'client-request-id': clientRequestId, 'content-type': JSON_CONTENT_TYPE },
            body: errorBody(
              'BadRequest',
              'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
              requestId,
              clientRequestId,
            ),
          });
          return;
        }
        const answered = { method, path, query: greq.rawQuery, body };
        if (segments.length === 1 && segments[0]?.toLowerCase() === '$batch' && method === 'POST') {
          const batched = await deps.batch(greq);
          await runAnswerHooks(core, answered);
          send(res, batched);
          return;
        }
        const answer = router.execute(greq);
        await runAnswerHooks(core, answered);
        if ((s.dropRate ?? 0) > 0 && core.noise.next() < (s.dropRate ?? 0)) {
          core.stats.dropped();
          dropMidResponse(res, answer);
          return;
        }
        send(res, answer);
        return;
      }

      const id = /^\/([^/]+)\/(.+)$/.exec(p);
      if (id) {
        const tenant = decodeURIComponent(id[1] as string);
        const rest = (id[2] as string).replace(/\/$/, '');
        if (method === 'GET' && (rest === 'v2.0/.well-known/openid-configuration' || rest === '.well-known/openid-configuration')) {
          send(res, openIdConfiguration(core, tenant));
          return;
        }
        if (method === 'GET' && (rest === 'discovery/v2.0/keys' || rest === 'discovery/keys')) {
          send(res, { status: 200, headers: {}, body: core.tokens.jwks() as unknown as JsonValue });
          return;
        }
        if (method === 'GET' && tenant === 'common' && rest === 'discovery/instance') {
          send(res, instanceDiscovery(core));
          return;
        }
        if (method === 'POST' && rest === 'oauth2/v2.0/token') {
          const form = new URLSearchParams(raw.toString('utf8'));
          let basic: { id: string; secret: string } | undefined;
          const a = headers['authorization'];
          if (a && /^basic /i.test(a)) {
            const [cid, sec] = Buffer.from(a.slice(6), 'base64').toString('utf8').split(':');
            if (cid && sec) basic = { id: decodeURIComponent(cid), secret: decodeURIComponent(sec) };
          }
          send(res, tokenEndpoint(core, tenant, form, basic));
          return;
        }
        if ((method === 'GET' || method === 'POST') && rest === 'oauth2/v2.0/authorize') {
          const form = method === 'POST' ? new URLSearchParams(raw.toString('utf8')) : undefined;
          send(res, authorize(core, tenant, method, url.searchParams, form));
          return;
        }
        if (method === 'GET' && rest === 'oauth2/v2.0/logout') {
          send(res, logout(core, tenant, url.searchParams));
          return;
        }
        if (method === 'GET' && rest === 'v2.0/adminconsent') {
          send(res, adminConsent(core, tenant, url.searchParams));
          return;
        }
      }
      send(res, { status: 404, headers: {}, body: { error: 'not_found', error_description: `No route for ${method} ${p}` } });
    })().catch((err: unknown) => {
      core.logger.error({ err }, 'request failed');
      if (!res.headersSent) send(res, { status: 500, headers: {}, body: { error: 'internal', message: String(err) } });
      else res.destroy();
    });
  };
}
