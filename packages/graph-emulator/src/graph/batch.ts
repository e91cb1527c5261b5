import { randomUUID } from 'node:crypto';
import type { EmulatorCore } from '../core';
import { errorBody } from '../http/errors';
import { graphPath, sleep } from '../http/server';
import { latencyFor } from '../settings';
import { JSON_CONTENT_TYPE, type GraphRequest, type GraphResponse } from '../http/types';
import type { JsonObject, JsonValue } from '../types';
import type { GraphRouter } from './dispatch';
import type { Rng } from '../tenant/rng';

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  dependsOn: string[];
}

const MAX_ITEMS = 20;

const CANONICAL: Record<string, string> = {
  'content-type': 'Content-Type',
  'retry-after': 'Retry-After',
  location: 'Location',
  'odata-version': 'OData-Version',
  'cache-control': 'Cache-Control',
};

class BatchError extends Error {}

function parseItems(body: unknown): BatchItem[] {
  if (!body || typeof body !== 'object' || !Array.isArray((body as { requests?: unknown }).requests)) {
    throw new BatchError('Invalid batch payload format.');
  }
  const raw = (body as { requests: unknown[] }).requests;
  if (raw.length === 0) throw new BatchError('Invalid batch payload format: the batch contains no requests.');
  if (raw.length > MAX_ITEMS) throw new BatchError(`Number of requests in the batch exceeds the limit of ${MAX_ITEMS}.`);
  const seen = new Set<string>();
  const items: BatchItem[] = [];
  for (const r of raw) {
    if (!r || typeof r !== 'object') throw new BatchError('Invalid batch payload format.');
    const o = r as Record<string, unknown>;
    const id = typeof o['id'] === 'string' || typeof o['id'] === 'number' ? String(o['id']) : '';
    const method = typeof o['method'] === 'string' ? o['method'].toUpperCase() : '';
    const url = typeof o['url'] === 'string' ? o['url'] : '';
    if (!id || !method || !url) throw new BatchError('Each batch request needs an id, a method and a url.');
    if (seen.has(id.toLowerCase())) throw new BatchError(`Batch request ids must be unique; '${id}' is repeated.`);
    seen.add(id.toLowerCase());
    const headers: Record<string, string> = {};
    if (o['headers'] && typeof o['headers'] === 'object') {
      for (const [k, v] of Object.entries(o['headers'] as Record<string, unknown>)) headers[k.toLowerCase()] = String(v);
    }
    if (o['body'] !== undefined && !headers['content-type']) {
      throw new BatchError(`Content-Type header is required for request '${id}' because it has a body.`);
    }
    const dependsOn = Array.isArray(o['dependsOn']) ? (o['dependsOn'] as unknown[]).map(String) : [];
    items.push({ id, method, url, headers, body: o['body'], dependsOn });
  }
  for (const it of items) {
    for (const d of it.dependsOn) {
      if (!seen.has(d.toLowerCase())) throw new BatchError(`Request '${it.id}' depends on unknown request '${d}'.`);
    }
  }
  return items;
}

/** Dependency order; a cycle makes the batch malformed. */
function order(items: BatchItem[]): BatchItem[] {
  const byId = new Map(items.map((i) => [i.id.toLowerCase(), i]));
  const out: BatchItem[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (it: BatchItem): void => {
    const k = it.id.toLowerCase();
    if (state.get(k) === 2) return;
    if (state.get(k) === 1) throw new BatchError('The dependsOn graph of the batch contains a cycle.');
    state.set(k, 1);
    for (const d of it.dependsOn) visit(byId.get(d.toLowerCase()) as BatchItem);
    state.set(k, 2);
    out.push(it);
  };
  for (const it of items) visit(it);
  return out;
}

function shuffle<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/** A forced item fault first, then a draw at `batchItemFaultRate`. */
function drawItemFault(core: EmulatorCore): boolean {
  const forced = core.settings.forceBatchItemFaults ?? 0;
  if (forced > 0) {
    core.updateSettings({ forceBatchItemFaults: forced - 1 });
    return true;
  }
  const rate = core.settings.batchItemFaultRate ?? 0;
  return rate > 0 && core.noise.next() < rate;
}

/** POST /v1.0/$batch: ≤ 20 items, dependsOn (failed dependency → 424), per-item latency, faults and throttling, shuffled responses. */
export function createBatchHandler(core: EmulatorCore, router: GraphRouter): (outer: GraphRequest) => Promise<GraphResponse> {
  return async (outer) => {
    const headers = { 'request-id': outer.requestId, 'client-request-id': outer.clientRequestId, 'content-type': JSON_CONTENT_TYPE };
    let items: BatchItem[];
    try {
      items = order(parseItems(outer.body));
    } catch (err) {
      if (!(err instanceof BatchError)) throw err;
      core.stats.request('POST /$batch', 400);
      return { status: 400, headers, body: errorBody('BadRequest', err.message, outer.requestId, outer.clientRequestId) };
    }
    const auth = core.tokens.verify((outer.headers['authorization'] ?? '').replace(/^Bearer\s+/i, '').trim());
    if (!auth.ok) {
      core.stats.request('POST /$batch', 401);
      return {
        status: 401,
        headers,
        body: errorBody(
          'InvalidAuthenticationToken',
          outer.headers['authorization'] ? auth.message : 'Access token is empty.',
          outer.requestId,
          outer.clientRequestId,
        ),
      };
    }
    // Graph runs the items of a batch in parallel unless dependsOn chains them: each item is answered
    // after its own latency (by method), counted from when its dependencies finished, and is
    // executed — throttled, faulted — at that moment. The batch returns when its slowest chain is done.
    const s = core.settings;
    const finish = new Map<string, number>();
    for (const it of items) {
      const after = Math.max(0, ...it.dependsOn.map((d) => finish.get(d.toLowerCase()) ?? 0));
      finish.set(it.id.toLowerCase(), after + latencyFor(s, it.method, () => core.noise.next()));
    }
    const schedule = items
      .map((it, position) => ({ it, position, at: finish.get(it.id.toLowerCase()) ?? 0 }))
      .sort((a, b) => a.at - b.at || a.position - b.position);
    const started = Date.now();
    const results = new Map<string, number>();
    const responses: JsonObject[] = [];
    for (const { it, at } of schedule) {
      const wait = at - (Date.now() - started);
      if (wait > 0) await sleep(wait);
      const requestId = randomUUID();
      const failedDep = it.dependsOn.find((d) => (results.get(d.toLowerCase()) ?? 0) >= 400);
      if (failedDep !== undefined) {
        results.set(it.id.toLowerCase(), 424);
        responses.push({
          id: it.id,
          status: 424,
          headers: { 'Content-Type': JSON_CONTENT_TYPE },
          body: errorBody(
            'FailedDependency',
            `The request depends on request '${failedDep}', which failed.`,
            requestId,
            outer.clientRequestId,
          ),
        });
        continue;
      }
      if (drawItemFault(core)) {
        // A failed item inside a 200 batch, as Graph answers one: its own status and Retry-After, nothing executed.
        core.stats.fault();
        const status = core.noise.next() < 0.5 ? 503 : 504;
        core.stats.request(`${it.method} (batch item fault)`, status);
        results.set(it.id.toLowerCase(), status);
        responses.push({
          id: it.id,
          status,
          headers: { 'Retry-After': '1', 'Content-Type': JSON_CONTENT_TYPE },
          body: errorBody(
            status === 503 ? 'serviceNotAvailable' : 'gatewayTimeout',
            status === 503 ? 'Service Unavailable' : 'Gateway Timeout',
            requestId,
            outer.clientRequestId,
          ),
        });
        continue;
      }
      let rel = it.url.trim();
      if (/^https?:\/\//i.test(rel)) rel = new URL(rel).pathname.replace(/^\/v1\.0/i, '') + new URL(rel).search;
      if (!rel.startsWith('/')) rel = `/${rel}`;
      rel = rel.replace(/^\/v1\.0(?=\/)/i, '');
      const u = new URL(rel, 'https://batch.invalid');
      const { path, segments } = graphPath(u.pathname);
      const req: GraphRequest = {
        method: it.method,
        path,
        segments,
        rawQuery: u.search.replace(/^\?/, ''),
        query: u.searchParams,
        headers: { ...it.headers, authorization: outer.headers['authorization'] ?? '' },
        body: it.body,
        requestId,
        clientRequestId: it.headers['client-request-id'] ?? outer.clientRequestId,
        inBatch: true,
      };
      const res = router.execute(req);
      results.set(it.id.toLowerCase(), res.status);
      // Graph spells item headers in canonical case ("Content-Type"); the JS SDK's BatchResponseContent relies on it.
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (k === 'request-id' || k === 'client-request-id') continue;
        h[CANONICAL[k] ?? k] = v;
      }
      const item: JsonObject = { id: it.id, status: res.status, headers: h };
      if (res.body !== undefined) item['body'] = res.body as JsonValue;
      responses.push(item);
    }
    core.stats.request('POST /$batch', 200);
    return { status: 200, headers, body: { responses: shuffle(responses, core.noise) } };
  };
}
