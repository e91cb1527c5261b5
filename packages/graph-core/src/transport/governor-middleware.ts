import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import type { Logger } from 'pino';
import { GraphAuthError } from '../errors';
import { checkedLink } from '../links';
import type { StatsRecorder } from '../stats';
import { backoffMs, parseRetryAfter, sleep, type ThrottleGovernor } from '../throttling/governor';
import { GovernedRequestOptions, singleRequest } from './governed-request';

const RETRYABLE = new Set([429, 503, 504]);

export interface GovernorMiddlewareOptions {
  governor: ThrottleGovernor;
  recorder: StatsRecorder;
  maxRetryTimeMs: number;
  /** Drops the cached token so the next attempt's authentication fetches a new one. */
  invalidateToken: () => void;
  logger?: Logger;
  /** The Graph root; a request to another origin is refused before it is sent (no token leaves). */
  root?: string;
  /**
   * The token the authentication handler will use, fetched (or read from cache) before the budget is
   * spent: a request that waited for a cold token after taking its share would arrive together with
   * everything the budget refilled meanwhile, a burst the server's bucket never had.
   */
  getToken?: (signal?: AbortSignal) => Promise<string>;
}

/**
 * Takes the place of the SDK's RetryHandler, which stops after three tries, pauses only the request
 * that was throttled and knows nothing of resource units. For every attempt it spends the request's
 * estimated cost from the governor (one per tenant+app, shared by every caller), hands a fresh copy
 * of the request to the rest of the chain (authentication, telemetry, the SDK's fetch), feeds the
 * answer's `x-ms-resource-unit` / `x-ms-throttle-limit-percentage` back, and decides:
 * 401 once → new token and again; 429 → the whole scope pauses for Retry-After; 503/504 and network
 * errors → jittered backoff honouring Retry-After; all bounded by `maxRetryTimeMs`. The final answer
 * is left in `context.response` with its body already read, whatever its status: turning a status
 * into an error is the caller's business.
 */
export class GovernorMiddleware implements Middleware {
  private next: Middleware | null = null;

  constructor(private readonly o: GovernorMiddlewareOptions) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const next = this.next;
    if (!next) throw new Error('GovernorMiddleware needs a next middleware');
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    // Every request of the chain (ours, and the SDK's fluent client's, e.g. PageIterator following
    // nextLink) stays on the configured Graph origin.
    if (this.o.root) checkedLink(url, new URL(this.o.root).origin);
    const method = (context.options?.method ?? 'GET').toUpperCase();
    const given = context.middlewareControl?.getMiddlewareOptions(GovernedRequestOptions);
    const req: GovernedRequestOptions['o'] =
      given instanceof GovernedRequestOptions ? given.o : singleRequest(method, url, context.options?.signal);
    const { governor, recorder } = this.o;
    const write = req.writes > 0;
    const headers = headerRecord(context.options?.headers);
    const started = Date.now();
    let refreshedToken = false;
    for (let attempt = 0; ; attempt++) {
      await this.o.getToken?.(req.signal);
      const permit = await governor.acquire(req.cost, req.writes, req.signal, req.chain === true);
      const scope = attemptSignal(context.options?.signal ?? undefined);
      const attemptContext: Context = {
        request: context.request,
        // A fresh copy each time: the SDK's handlers append headers, and a retry must not carry two.
        options: {
          ...context.options,
          headers: { ...headers, ...(attempt > 0 ? { 'Retry-Attempt': String(attempt) } : {}) },
          ...(scope ? { signal: scope.signal } : {}),
        },
        middlewareControl: context.middlewareControl,
        customHosts: context.customHosts,
      };
      const t0 = Date.now();
      let res: Response;
      let text: string;
      try {
        await next.execute(attemptContext);
        if (!attemptContext.response) throw new Error('the middleware chain returned no response');
        res = attemptContext.response;
        text = await res.text();
      } catch (err) {
        scope?.dispose();
        governor.release(permit);
        // A token failure or a cancellation is not a network error: retrying would not help.
        if (err instanceof GraphAuthError || req.signal?.aborted) throw err;
        recorder.record(req.route, { requests: 1, errors: 1, latencyMs: Date.now() - t0 });
        const wait = backoffMs(attempt);
        if (Date.now() - started + wait > this.o.maxRetryTimeMs) throw err;
        recorder.record(req.route, { retries: 1 });
        await sleep(wait, req.signal);
        continue;
      }
      scope?.dispose();
      const headerRu = positive(res.headers.get('x-ms-resource-unit'));
      const actualRu = headerRu ?? (res.status < 300 || req.accept?.includes(res.status) ? req.actualRuFromBody?.(text) : undefined);
      governor.release(permit, { actualRu, limitShare: positive(res.headers.get('x-ms-throttle-limit-percentage')) });
      recorder.record(req.route, { requests: 1, ru: actualRu ?? req.cost, latencyMs: Date.now() - t0 });

      if (res.status === 401 && !refreshedToken) {
        // A token revoked or expired early: get a fresh one once.
        refreshedToken = true;
        this.o.invalidateToken();
        continue;
      }
      if (RETRYABLE.has(res.status)) {
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        if (res.status === 429) {
          recorder.record(req.route, { throttled: 1 });
          governor.throttled(retryAfter ?? backoffMs(attempt, 1_000), write, permit);
        }
        // After a 429 the governor's scope pause does the waiting; it still counts against the bound.
        const wait = res.status === 429 ? 0 : (retryAfter ?? backoffMs(attempt));
        if (Date.now() - started + (res.status === 429 ? (retryAfter ?? 0) : wait) <= this.o.maxRetryTimeMs) {
          recorder.record(req.route, { retries: 1 });
          this.o.logger?.debug({ route: req.route, status: res.status, attempt, wait }, 'graph retry');
          if (wait > 0) await sleep(wait, req.signal);
          continue;
        }
      }
      if (res.status >= 400 && !req.accept?.includes(res.status)) recorder.record(req.route, { errors: 1 });
      else if (req.countsAsSuccess !== false) governor.succeeded();
      req.sent = permit;
      context.response = new Response(text === '' ? null : text, { status: res.status, statusText: res.statusText, headers: res.headers });
      return;
    }
  }
}

/**
 * A signal of one attempt that follows the caller's. Workers pass one long-lived shutdown signal to
 * every request; fetch (undici) hangs a listener on the signal it is given and lets go of it only
 * when the request is garbage-collected, so thousands of requests between two collections piled up
 * listeners on that one signal (and MaxListenersExceeded warnings). Fetch gets this short-lived
 * signal instead, and the one listener on the caller's is removed as soon as the attempt is over.
 */
export function attemptSignal(parent: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } | null {
  if (!parent) return null;
  const ctl = new AbortController();
  if (parent.aborted) {
    ctl.abort(parent.reason);
    return { signal: ctl.signal, dispose: () => undefined };
  }
  const follow = () => ctl.abort(parent.reason);
  parent.addEventListener('abort', follow, { once: true });
  return { signal: ctl.signal, dispose: () => parent.removeEventListener('abort', follow) };
}

function positive(v: string | null): number | undefined {
  const n = Number(v);
  return v !== null && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Headers in any of the forms fetch accepts, as a plain record. */
function headerRecord(h: RequestInit['headers']): Record<string, string> {
  if (!h) return {};
  if (h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) return Object.fromEntries(h.map(([k, v]) => [k, v]));
  return { ...(h as Record<string, string>) };
}
