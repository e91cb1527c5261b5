import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { DOCS, endCursorOf, type Req, type ServerKind, type Shape } from './workload';

export interface Target {
  name: string;
  kind: ServerKind;
  url: string;
}

export interface Outcome {
  shape: Shape;
  /**
   * From the time the request was due (so queueing in the client and the server counts) to the last
   * byte; a next page is due when planned or, if later, when the page it follows was answered.
   */
  latencyMs: number;
  /** ms after the start of the run at which the answer was complete. */
  doneAt: number;
  ok: boolean;
  error?: string;
}

export interface Answer {
  status: number;
  body: { data?: unknown; errors?: unknown[] } | null;
}

/** One POST of a GraphQL document on a keep-alive agent; never rejects (failures, timeouts included, are answers with status 0). */
export function post(agent: http.Agent, url: URL, payload: string, headers: Record<string, string>, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: Answer['body'] = null;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'];
          } catch {
            body = null;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', () => resolve({ status: 0, body: null }));
      },
    );
    // From now, not from when a socket is free: time spent queued for a connection counts too.
    const timer = setTimeout(() => req.destroy(new Error(`timeout (${timeoutMs / 1000} s)`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e) => resolve({ status: 0, body: { errors: [{ message: e.message }] } }));
    req.end(payload);
  });
}

/** An answer that counts as an error: not HTTP 200, no data, or GraphQL errors inside a 200. */
export function failure(a: Answer): string | null {
  if (a.status !== 200)
    return a.status === 0 ? String((a.body?.errors?.[0] as { message?: string } | undefined)?.message ?? 'network') : `HTTP ${a.status}`;
  const first = a.body?.errors?.[0] as { message?: string; extensions?: { code?: string } } | undefined;
  // The error's code and words, so an example in the result file says what went wrong.
  const why = first ? `${first.extensions?.code ?? 'no code'}: ${String(first.message).slice(0, 120)}` : null;
  if (!a.body || a.body.data == null) return why ? `no data (${why})` : 'no data';
  if (first) return `GraphQL error: ${why}`;
  return null;
}

export function requestPayload(kind: ServerKind, r: Req, after: string | null): string {
  const doc = DOCS[r.shape][kind];
  return JSON.stringify({ query: doc.query, variables: doc.vars(r.vars, after) });
}

/**
 * Open loop: every request is sent when it is due, whether or not earlier ones were answered (a next
 * page waits for the page it follows, as a person would). Connections come from one keep-alive agent
 * of `sockets`; a request waiting for a free socket is queueing, and its latency shows it.
 */
/** runOpenLoop's clock starts this long after the call (the first requests are scheduled, not late). */
export const OPEN_LOOP_START_DELAY_MS = 20;

export async function runOpenLoop(
  target: Target,
  reqs: Req[],
  tokens: string[],
  opts: { sockets: number; timeoutMs: number; maxOutstanding: number },
): Promise<Outcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.sockets });
  const url = new URL(target.url);
  const outcomes: Outcome[] = new Array<Outcome>(reqs.length);
  const cursors: Promise<string | null>[] = new Array<Promise<string | null>>(reqs.length);
  let outstanding = 0;
  const t0 = performance.now() + OPEN_LOOP_START_DELAY_MS;
  const send = async (i: number, r: Req): Promise<string | null> => {
    const after = r.after === undefined ? null : await cursors[r.after]!;
    // A person asks for the next page once the first one is on screen: due then, if that is later.
    const due = r.after === undefined ? t0 + r.at : Math.max(t0 + r.at, performance.now());
    if (outstanding >= opts.maxOutstanding) {
      outcomes[i] = {
        shape: r.shape,
        latencyMs: performance.now() - due,
        doneAt: performance.now() - t0,
        ok: false,
        error: 'dropped: client backlog',
      };
      return null;
    }
    outstanding++;
    const headers: Record<string, string> = target.kind === 'gateway' ? { authorization: `Bearer ${tokens[r.token]!}` } : {};
    const a = await post(agent, url, requestPayload(target.kind, r, after), headers, opts.timeoutMs);
    outstanding--;
    const now = performance.now();
    const error = failure(a);
    outcomes[i] = { shape: r.shape, latencyMs: now - due, doneAt: now - t0, ok: error === null, ...(error ? { error } : {}) };
    return error ? null : endCursorOf(a.body?.data);
  };
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i]!;
    const wait = t0 + r.at - performance.now();
    if (wait > 1) await new Promise((res) => setTimeout(res, wait));
    cursors[i] = send(i, r);
  }
  await Promise.all(cursors);
  agent.destroy();
  return outcomes;
}

/**
 * Waits until the server has worked off what an earlier run left it (a client that gave up on a
 * request does not stop the server from doing the work): a query that reaches Postgres and no cache
 * (a search for a fresh random term) must be answered within `quickMs`. Returns how long it took.
 */
export async function settle(target: Target, token: string, connectorId: string, quickMs = 250, maxMs = 120_000): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(target.url);
  const t0 = performance.now();
  try {
    for (let n = 0; performance.now() - t0 < maxMs; n++) {
      const term = `zq${Math.random().toString(36).slice(2, 8)}`;
      const payload = requestPayload(
        target.kind,
        { at: 0, shape: 'user search (type-ahead)', token: 0, vars: { c: connectorId, t: term } },
        null,
      );
      const s = performance.now();
      const a = await post(agent, url, payload, target.kind === 'gateway' ? { authorization: `Bearer ${token}` } : {}, maxMs);
      if (failure(a) === null && performance.now() - s <= quickMs) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 200));
    }
    return performance.now() - t0;
  } finally {
    agent.destroy();
  }
}
