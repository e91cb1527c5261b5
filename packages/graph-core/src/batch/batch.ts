import type { GraphClient } from '../client';
import type { GovernedRequestOptions } from '../transport/governed-request';
import { graphErrorFrom } from '../errors';
import type { StatsRecorder } from '../stats';
import { estimateCost } from '../throttling/cost';
import { backoffMs, parseRetryAfter, sleep, type ThrottleGovernor } from '../throttling/governor';

export interface BatchRequest {
  id?: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the version root, e.g. '/groups/{id}/members?$select=id'. */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  dependsOn?: string[];
}

export interface BatchResult {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

interface RawBatchResponse {
  responses?: Array<{ id: string; status: number; headers?: Record<string, string>; body?: unknown }>;
}

const MAX_PER_BATCH = 20;
const RETRY_ITEM = new Set([429, 503, 504]);

/**
 * Packs requests 20 per $batch and sends the packs concurrently within the governor. Each pack
 * is charged the summed cost of its items. Items Graph throttled (each with its own Retry-After)
 * are sent again in a new batch after the longest of those waits — SDK retry handlers never do
 * this — together with items that failed only because a dependency was throttled (424). Outer
 * 200 and 424 are both accepted: the item statuses are what count. Results come back in request order.
 */
export async function runBatch(
  client: GraphClient,
  governor: ThrottleGovernor,
  recorder: StatsRecorder,
  requests: BatchRequest[],
  opts: { signal?: AbortSignal; maxRetryTimeMs: number },
): Promise<BatchResult[]> {
  const results = new Array<BatchResult>(requests.length);
  const items = requests.map((r, index) => ({ ...r, id: r.id ?? String(index), index, url: relative(r.url) }));
  const indexOf = new Map(items.map((r) => [r.id.toLowerCase(), r.index]));
  const packOf = new Map<string, number>();
  const runs: Promise<void>[] = [];
  for (let i = 0; i < items.length; i += MAX_PER_BATCH) {
    const pack = items.slice(i, i + MAX_PER_BATCH);
    const p = runs.length;
    for (const r of pack) packOf.set(r.id.toLowerCase(), p);
    // Graph resolves dependsOn only inside one $batch; a dependency packed into an earlier batch is
    // honoured by sending this pack only after that one finished.
    const earlier = new Set<number>();
    for (const r of pack) {
      for (const d of r.dependsOn ?? []) {
        const q = packOf.get(d.toLowerCase());
        if (q !== undefined && q < p) earlier.add(q);
      }
    }
    const before = [...earlier].map((q) => runs[q]!);
    runs.push(Promise.all(before).then(() => runPack(pack)));
  }
  await Promise.all(runs);
  return results;

  /** Items whose dependency (in an earlier pack, or failed that way itself) failed: 424 as Graph would answer. */
  function failCrossPackDependants(pack: typeof items): typeof items {
    const inPack = new Set(pack.map((r) => r.id.toLowerCase()));
    const failed = new Set<string>();
    const send: typeof items = [];
    for (const r of pack) {
      const dep = (r.dependsOn ?? []).find((d) => {
        const k = d.toLowerCase();
        if (failed.has(k)) return true;
        if (inPack.has(k)) return false;
        const i = indexOf.get(k);
        return i !== undefined && results[i] !== undefined && results[i].status >= 400;
      });
      if (dep === undefined) {
        send.push(r);
        continue;
      }
      failed.add(r.id.toLowerCase());
      results[r.index] = {
        id: r.id,
        status: 424,
        headers: { 'content-type': 'application/json' },
        body: { error: { code: 'FailedDependency', message: `The request depends on request '${dep}', which failed.` } },
      };
    }
    return send;
  }

  async function runPack(pack: typeof items): Promise<void> {
    let pending = failCrossPackDependants(pack);
    const started = Date.now();
    for (let attempt = 0; pending.length > 0; attempt++) {
      const cost = pending.reduce((s, r) => s + estimateCost(r.method, new URL(`https://x/v1.0${r.url}`)), 0);
      const writes = pending.filter((r) => r.method !== 'GET').length;
      const write = writes > 0;
      const pendingIds = new Set(pending.map((r) => r.id.toLowerCase()));
      const body = {
        requests: pending.map((r) => ({
          id: r.id,
          method: r.method,
          url: r.url,
          ...(r.body !== undefined
            ? { body: r.body, headers: { 'Content-Type': 'application/json', ...r.headers } }
            : r.headers
              ? { headers: r.headers }
              : {}),
          ...(r.dependsOn ? { dependsOn: r.dependsOn.filter((d) => pendingIds.has(d.toLowerCase())) } : {}),
        })),
      };
      // The outer request goes through the client's chain, whose governor retries network errors,
      // a 401 and an outer 429/503/504; what comes back here is Graph's answer to the pack.
      let read: { text: string; parsed: RawBatchResponse } | null = null;
      const sent: GovernedRequestOptions['o'] = {
        cost,
        writes,
        route: 'POST /$batch',
        accept: [424],
        countsAsSuccess: false,
        // Each item carries its own x-ms-resource-unit; their sum corrects the pack's estimate.
        actualRuFromBody: (text) => {
          read = { text, parsed: parseJson(text) as RawBatchResponse };
          const sum = (read.parsed.responses ?? []).reduce((s, r) => s + (Number(lower(r.headers)['x-ms-resource-unit']) || 0), 0);
          return sum > 0 ? sum : undefined;
        },
        ...(opts.signal ? { signal: opts.signal } : {}),
      };
      const res = await client.transport.send(
        client.resolve('/v1.0/$batch').toString(),
        { method: 'POST', headers: client.headers({ body }), body: JSON.stringify(body), signal: opts.signal },
        sent,
      );
      const text = await res.text();
      // The governor already parsed an answer it accepted (large member pages): parse only once.
      const seen = read as { text: string; parsed: RawBatchResponse } | null;
      const parsed = seen && seen.text === text ? seen.parsed : (parseJson(text) as RawBatchResponse);
      if (res.status !== 200 && res.status !== 424) throw graphErrorFrom(res.status, parsed, res.headers.get('request-id'));
      const permit = sent.sent;

      const byId = new Map((parsed.responses ?? []).map((r) => [r.id.toLowerCase(), r]));
      const retry: typeof items = [];
      const retryIds = new Set<string>();
      let longest = 0;
      let throttled = false;
      for (const r of pending) {
        const resp = byId.get(r.id.toLowerCase());
        if (resp && RETRY_ITEM.has(resp.status)) {
          retry.push(r);
          retryIds.add(r.id.toLowerCase());
          const h = lower(resp.headers);
          longest = Math.max(longest, parseRetryAfter(h['retry-after']) ?? backoffMs(attempt, 1_000));
          if (resp.status === 429) throttled = true;
        }
      }
      for (const r of pending) {
        if (retryIds.has(r.id.toLowerCase())) continue;
        const resp = byId.get(r.id.toLowerCase());
        const blocked = resp?.status === 424 && (r.dependsOn ?? []).some((d) => retryIds.has(d.toLowerCase()));
        if (!resp || blocked) {
          retry.push(r);
          retryIds.add(r.id.toLowerCase());
          continue;
        }
        results[r.index] = { id: r.id, status: resp.status, headers: lower(resp.headers), body: resp.body };
      }
      recorder.record('POST /$batch', { throttled: throttled ? 1 : 0 });
      // A pack without throttled items counts as a success for AIMD, or batch-only work would never
      // win back the concurrency a 429 took.
      if (!throttled) governor.succeeded();
      if (retry.length === 0) return;
      if (Date.now() - started + longest > opts.maxRetryTimeMs) {
        for (const r of retry) {
          const resp = byId.get(r.id.toLowerCase());
          results[r.index] = { id: r.id, status: resp?.status ?? 503, headers: lower(resp?.headers), body: resp?.body };
        }
        return;
      }
      recorder.record('POST /$batch', { retries: 1 });
      if (throttled) governor.throttled(longest, write, permit);
      else await sleep(longest, opts.signal);
      pending = retry.sort((a, b) => a.index - b.index);
    }
  }
}

function relative(url: string): string {
  const u = /^https?:\/\//i.test(url) ? new URL(url) : null;
  const path = u ? `${u.pathname}${u.search}` : url;
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.replace(/^\/(v1\.0|beta)(?=\/)/, '');
}

function parseJson(text: string): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    // A gateway's HTML error page, not Graph's JSON: the status decides what happens.
    return {};
  }
}

function lower(h: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k.toLowerCase()] = String(v);
  return out;
}
