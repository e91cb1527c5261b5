import { Client } from '@microsoft/microsoft-graph-client';
import type { Logger } from 'pino';
import { rolesOf, TokenProvider, type GraphAuth } from './auth/token-provider';
import { runBatch, type BatchRequest, type BatchResult } from './batch/batch';
import { deltaRound, type DeltaOutcome, type DeltaPage } from './delta/round';
import { GraphError, graphErrorFrom } from './errors';
import { checkedLink } from './links';
import { collectionPages, type CollectionPage } from './paging/pages';
import { partitionedPages, type PartitionOptions } from './paging/partitioned';
import { graphClientOptionsSchema } from './options';
import type { GraphStatsSink } from './metrics';
import { StatsRecorder, type GraphStats } from './stats';
import { governorFor, parseRetryAfter, type ThrottleGovernor } from './throttling/governor';
import { createTransport, type Transport } from './transport/chain';
import { singleRequest } from './transport/governed-request';

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
  /** Where the service's metrics collect this client's counters (`graphMetrics(registry)`). */
  metrics?: GraphStatsSink;
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
  /**
   * Set by paging and delta rounds: nothing else of this caller goes out until this is answered, so
   * the governor lets it ahead of fan-out work waiting for a slot.
   */
  chain?: boolean;
}

const RETRYABLE = new Set([429, 503, 504]);

/** The one Microsoft Graph client: auth, governor, retries, paging, delta, $batch, counters. */
export class GraphClient {
  readonly root: string;
  private readonly tokens: TokenProvider;
  private readonly governor: ThrottleGovernor;
  /** scheme://host[:port] of graphBaseUrl: the only origin links are followed to. */
  private readonly origin: string;
  private readonly recorder: StatsRecorder;
  private readonly maxRetryTimeMs: number;
  private transportInstance: Transport | null = null;
  private sdkClient: Client | null = null;

  constructor(private readonly opts: GraphClientOptions) {
    graphClientOptionsSchema.parse(opts);
    const sink = opts.metrics;
    this.recorder = new StatsRecorder(sink ? (route, delta) => sink(opts.tenantId, route, delta) : undefined);
    this.root = (opts.graphBaseUrl ?? 'https://graph.microsoft.com').replace(/\/+$/, '');
    this.origin = new URL(this.root).origin;
    const authority = (opts.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
    // The token is requested for the configured Graph root's own resource (`<origin>/.default`): a
    // national cloud, or the emulator, gets a token only it accepts. Never one for
    // graph.microsoft.com sent to a host that is not graph.microsoft.com.
    const scope = `${this.origin}/.default`;
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

  /**
   * Absolute URL for a '/v1.0/…' path; absolute links (nextLink, deltaLink) are used as they are, but
   * only on this client's Graph origin (same scheme, host and port as graphBaseUrl): anything else
   * is a GraphLinkRefusedError and nothing is sent.
   */
  resolve(path: string): URL {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(path)) return new URL(`${this.root}${path.startsWith('/') ? '' : '/'}${path}`);
    return checkedLink(path, this.origin);
  }

  async get<T>(path: string, opts: { headers?: Record<string, string>; signal?: AbortSignal; chain?: boolean } = {}): Promise<T> {
    return (await this.request<T>('GET', path, opts)).body;
  }

  /**
   * One request through the governor with retries: 429 pauses the whole scope for Retry-After;
   * 503/504 and network errors back off with jitter (Retry-After honoured); everything else, or a
   * retry budget spent, becomes a GraphError with Graph's code, message, status and request-id.
   */
  async request<T = unknown>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<GraphResponse<T>> {
    const url = this.resolve(path);
    // An absolute link (nextLink, deltaLink) goes out exactly as Graph wrote it.
    const target = /^https?:\/\//i.test(path) ? path : url.toString();
    const res = await this.transport.send(
      target,
      { method, headers: this.headers(opts), body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal },
      singleRequest(method, url, opts.signal, opts.chain === true),
    );
    const body = parseBody(await res.text());
    const requestId = res.headers.get('request-id');
    if (res.status >= 400) {
      throw graphErrorFrom(res.status, body, requestId, RETRYABLE.has(res.status) ? parseRetryAfter(res.headers.get('retry-after')) : null);
    }
    return { status: res.status, body: body as T, headers: res.headers, requestId };
  }

  /** Pages of a collection; see collectionPages for the paging rules. */
  pages<T extends { id?: string }>(
    path: string,
    opts: { headers?: Record<string, string>; signal?: AbortSignal; startAt?: string } = {},
  ): AsyncGenerator<CollectionPage<T>> {
    return collectionPages<T>(this, path, opts);
  }

  /**
   * Pages of a collection read as several ranges of one property at once (see partitionedPages): for
   * long crawls, where the sequential nextLink chain, not the budget, sets the wall time.
   */
  pagesInParallel<T extends { id?: string }>(path: string, opts: PartitionOptions): AsyncGenerator<CollectionPage<T>> {
    return partitionedPages<T>(this, path, opts);
  }

  /** Every item of a collection. */
  async *items<T extends { id?: string }>(
    path: string,
    opts: { headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): AsyncGenerator<T> {
    for await (const page of this.pages<T>(path, opts)) yield* page.items;
  }

  /** One delta round; the new deltaLink comes back (as the return value) only when the round finished. */
  delta<T extends { id: string }>(
    start: string,
    opts: { signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): AsyncGenerator<DeltaPage<T>, DeltaOutcome> {
    return deltaRound<T>(this, start, opts);
  }

  /** Any number of requests, packed 20 per $batch; results in request order. */
  batch(requests: BatchRequest[], opts: { signal?: AbortSignal } = {}): Promise<BatchResult[]> {
    return runBatch(this, this.governor, this.recorder, requests, { ...opts, maxRetryTimeMs: this.maxRetryTimeMs });
  }

  /** @internal used by the $batch runner: the transport every Graph call goes through. */
  get transport(): Transport {
    return (this.transportInstance ??= createTransport({
      root: this.root,
      governor: this.governor,
      recorder: this.recorder,
      maxRetryTimeMs: this.maxRetryTimeMs,
      invalidateToken: () => this.tokens.invalidate(),
      getToken: (signal) => this.tokens.getToken(signal),
      ...(this.opts.logger ? { logger: this.opts.logger } : {}),
    }));
  }

  /**
   * The SDK's fluent client on the same chain: its requests share this client's governor, token
   * and counters (use it for what the methods above do not cover).
   */
  get sdk(): Client {
    return (this.sdkClient ??= Client.initWithMiddleware({
      middleware: this.transport.chain,
      customHosts: this.transport.customHosts,
      defaultVersion: 'v1.0',
      baseUrl: this.root,
    }));
  }

  /** @internal headers every Graph call carries besides those the chain adds (token, ids, retry count). */
  headers(opts: { headers?: Record<string, string>; body?: unknown }): Record<string, string> {
    const h: Record<string, string> = {
      accept: 'application/json',
      ...(this.opts.priority ? { 'x-ms-throttle-priority': this.opts.priority } : {}),
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
