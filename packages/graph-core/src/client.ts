import type { Logger } from 'pino';
import { rolesOf, TokenProvider, type GraphAuth } from './auth/token-provider';
import { runBatch, type BatchRequest, type BatchResult } from './batch/batch';
import { deltaRound, type DeltaOutcome, type DeltaPage } from './delta/round';
import { GraphError, graphErrorFrom } from './errors';
import { collectionPages, type CollectionPage } from './paging/pages';
import { graphClientOptionsSchema } from './options';
import { StatsRecorder, type GraphStats } from './stats';
import { estimateCost, routeOf } from './throttling/cost';
import { backoffMs, governorFor, parseRetryAfter, sleep, type ThrottleGovernor } from './throttling/governor';

export interface GraphClientOptions {
  tenantId: string;
  clientId: string;
  auth: GraphAuth;
  /** Graph root, default https://graph.microsoft.com (national clouds and the emulator differ). */
  graphBaseUrl?: string;
  /** Token authority, default https://login.microsoftonline.com. */
  authorityHost?: string;
  /** Sent as x-ms-throttle-priority; background sync uses Low. */
  priority?: 'Low' | 'Normal' | 'High';
  budget?: { ruPer10s?: number; writesPer150s?: number };
  maxConcurrency?: number;
  /** Total time one request may spend retrying before its error is returned. */
  maxRetryTimeMs?: number;
  logger?: Logger;
}

export interface GraphResponse<T> {
  status: number;
  body: T;
  headers: Headers;
  requestId: string | null;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const RETRYABLE = new Set([429, 503, 504]);

/** The one Microsoft Graph client: auth, governor, retries, paging, delta, $batch, counters. */
export class GraphClient {
  readonly root: string;
  private readonly tokens: TokenProvider;
  private readonly governor: ThrottleGovernor;
  private readonly recorder = new StatsRecorder();
  private readonly maxRetryTimeMs: number;

  constructor(private readonly opts: GraphClientOptions) {
    graphClientOptionsSchema.parse(opts);
    this.root = (opts.graphBaseUrl ?? 'https://graph.microsoft.com').replace(/\/+$/, '');
    const authority = (opts.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
    // Tokens are minted for the Graph resource of the cloud in use; other roots (the emulator) are
    // addressed with the public cloud's resource, as Graph-compatible services expect.
    const scope = /(^|\.)(graph\.microsoft\.(com|us)|dod-graph\.microsoft\.us|microsoftgraph\.chinacloudapi\.cn)$/.test(new URL(this.root).hostname)
      ? `${this.root}/.default`
      : 'https://graph.microsoft.com/.default';
    this.tokens = new TokenProvider(opts.tenantId, opts.clientId, opts.auth, authority, scope);
    this.governor = governorFor(`${authority}|${opts.tenantId}|${opts.clientId}|${this.root}`, {
      ruPer10s: opts.budget?.ruPer10s ?? 8_000,
      writesPer150s: opts.budget?.writesPer150s ?? 3_000,
      maxConcurrency: opts.maxConcurrency ?? 16,
    });
    this.maxRetryTimeMs = opts.maxRetryTimeMs ?? 5 * 60_000;
  }

  getAccessToken(signal?: AbortSignal): Promise<string> {
    return this.tokens.getToken(signal);
  }

  /** The application permissions granted to the app: the token's `roles` claim. */
  async grantedPermissions(signal?: AbortSignal): Promise<string[]> {
    return rolesOf(await this.tokens.getToken(signal));
  }

  stats(): GraphStats {
    return this.recorder.snapshot();
  }

  /** Absolute URL for a '/v1.0/…' path; absolute links (nextLink, deltaLink) are used as they are. */
  resolve(path: string): URL {
    return /^https?:\/\//i.test(path) ? new URL(path) : new URL(`${this.root}${path.startsWith('/') ? '' : '/'}${path}`);
  }

  async get<T>(path: string, opts: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<T> {
    return (await this.request<T>('GET', path, opts)).body;
  }

  /**
   * One request through the governor with retries: 429 pauses the whole scope for Retry-After;
   * 503/504 and network errors back off with jitter (Retry-After honoured); everything else, or a
   * retry budget spent, becomes a GraphError with Graph's code, message, status and request-id.
   */
  async request<T = unknown>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<GraphResponse<T>> {
    const url = this.resolve(path);
    const write = method !== 'GET';
    const cost = estimateCost(method, url);
    const route = routeOf(method, url);
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      // Token first: an auth failure is not a network error and must not be retried here.
      const headers = await this.headers(opts, attempt);
      const permit = await this.governor.acquire(cost, write, opts.signal);
      const t0 = Date.now();
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: opts.signal,
        });
      } catch (err) {
        this.governor.release(permit);
        if (opts.signal?.aborted) throw err;
        this.recorder.record(route, { requests: 1, errors: 1, latencyMs: Date.now() - t0 });
        const wait = backoffMs(attempt);
        if (Date.now() - started + wait > this.maxRetryTimeMs) throw err;
        this.recorder.record(route, { retries: 1 });
        await sleep(wait, opts.signal);
        continue;
      }
      const text = await res.text();
      const body = parseBody(text);
      const requestId = res.headers.get('request-id');
      const actualRu = Number(res.headers.get('x-ms-resource-unit'));
      const limitShare = Number(res.headers.get('x-ms-throttle-limit-percentage'));
      this.governor.release(permit, {
        actualRu: Number.isFinite(actualRu) && actualRu > 0 ? actualRu : undefined,
        limitShare: Number.isFinite(limitShare) && limitShare > 0 ? limitShare : undefined,
      });
      this.recorder.record(route, { requests: 1, ru: Number.isFinite(actualRu) && actualRu > 0 ? actualRu : cost, latencyMs: Date.now() - t0 });

      if (res.status === 401 && attempt === 0) {
        // A token revoked or expired early: get a fresh one once.
        this.tokens.invalidate();
        continue;
      }
      if (RETRYABLE.has(res.status)) {
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        if (res.status === 429) {
          this.recorder.record(route, { throttled: 1 });
          this.governor.throttled(retryAfter ?? backoffMs(attempt, 1_000), write, permit);
        }
        // After a 429 the governor's scope pause does the waiting; it still counts against the bound.
        const wait = res.status === 429 ? 0 : (retryAfter ?? backoffMs(attempt));
        if (Date.now() - started + (res.status === 429 ? (retryAfter ?? 0) : wait) > this.maxRetryTimeMs) {
          throw graphErrorFrom(res.status, body, requestId, retryAfter);
        }
        this.recorder.record(route, { retries: 1 });
        this.opts.logger?.debug({ route, status: res.status, attempt, wait }, 'graph retry');
        if (wait > 0) await sleep(wait, opts.signal);
        continue;
      }
      if (res.status >= 400) {
        this.recorder.record(route, { errors: 1 });
        throw graphErrorFrom(res.status, body, requestId);
      }
      this.governor.succeeded();
      return { status: res.status, body: body as T, headers: res.headers, requestId };
    }
  }

  /** Pages of a collection; see collectionPages for the paging rules. */
  pages<T extends { id?: string }>(
    path: string,
    opts: { headers?: Record<string, string>; signal?: AbortSignal; startAt?: string } = {},
  ): AsyncGenerator<CollectionPage<T>> {
    return collectionPages<T>(this, path, opts);
  }

  /** Every item of a collection. */
  async *items<T extends { id?: string }>(path: string, opts: { headers?: Record<string, string>; signal?: AbortSignal } = {}): AsyncGenerator<T> {
    for await (const page of this.pages<T>(path, opts)) yield* page.items;
  }

  /** One delta round; the new deltaLink comes back (as the return value) only when the round finished. */
  delta<T extends { id: string }>(start: string, opts: { signal?: AbortSignal; headers?: Record<string, string> } = {}): AsyncGenerator<DeltaPage<T>, DeltaOutcome> {
    return deltaRound<T>(this, start, opts);
  }

  /** Any number of requests, packed 20 per $batch; results in request order. */
  batch(requests: BatchRequest[], opts: { signal?: AbortSignal } = {}): Promise<BatchResult[]> {
    return runBatch(this, this.governor, this.recorder, requests, { ...opts, maxRetryTimeMs: this.maxRetryTimeMs });
  }

  /** @internal used by the $batch runner after a 401: the next call fetches a fresh token. */
  invalidateToken(): void {
    this.tokens.invalidate();
  }

  /** @internal used by the $batch runner: headers every Graph call carries. */
  async headers(opts: { headers?: Record<string, string>; body?: unknown; signal?: AbortSignal }, attempt = 0): Promise<Record<string, string>> {
    const h: Record<string, string> = {
      authorization: `Bearer ${await this.tokens.getToken(opts.signal)}`,
      accept: 'application/json',
      'client-request-id': crypto.randomUUID(),
      ...(this.opts.priority ? { 'x-ms-throttle-priority': this.opts.priority } : {}),
      ...(attempt > 0 ? { 'Retry-Attempt': String(attempt) } : {}),
      ...opts.headers,
    };
    if (opts.body !== undefined) h['content-type'] = 'application/json';
    return h;
  }
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export { GraphError };
