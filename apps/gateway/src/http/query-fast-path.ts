import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Caller } from '../auth/roles';
import { readPlainRequest, type PlainRequest } from '../execution/plain-request';

/** The answer to a plain query (the response cache, then the lean path): JSON to send, or null for Apollo. */
export type PlainAnswer = (plain: PlainRequest, requestId: string) => Promise<string | null>;

interface QueryFastPathDeps {
  /** MAX_BODY_BYTES: a longer body is left to Express, which refuses it with 413. */
  maxBodyBytes: number;
  /** The same check Apollo's context runs (one verification per request, remembered per request object). */
  authenticate(req: IncomingMessage): Promise<Caller | null>;
  answer: PlainAnswer;
  /** Starts the request's log line and duration metric; returns its request id (ops/routes.ts). */
  startLog(req: IncomingMessage, res: ServerResponse, path: string): string;
  /** Everything else: the Express application. */
  fallback(req: IncomingMessage, res: ServerResponse): void;
}

export interface QueryFastPathStats {
  /** Requests answered before Express. */
  answered: number;
  /** Requests whose body was read here and then handed to Express (Apollo answers them). */
  handedOver: number;
}

/** What the fast path learnt of a request it handed to Express: the body it read, and that the answer was tried. */
interface Handed {
  body?: unknown;
  error?: { status: number; type: string; message: string };
}
const HANDED = Symbol('query fast path');
type Marked = IncomingMessage & { [HANDED]?: Handed };

const JSON_WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);

/**
 * Serves the common request — an authenticated (bearer token) POST /graphql with a JSON body of a
 * stated length — from node's `request` event, before Express: its router, body parser and Apollo's
 * middleware cost a miss more CPU than the response cache or the lean path do. The body is read with
 * the same size limit and parsed the way Express's JSON parser would (a leading BOM dropped, only an
 * object or array, an empty body being `{}`); the answer is the one the Express route would send
 * (`answer`, with the same headers: x-request-id, content-type; node adds content-length). Whatever
 * `answer` leaves (null) or anything unusual about the request goes to Express unchanged, with the
 * body it already read (or its parse error) taken over by `preReadBody` in place of the parser, and
 * the answer not tried again (`plainQueryMiddleware`).
 */
export function queryFastPath(deps: QueryFastPathDeps, stats: QueryFastPathStats = { answered: 0, handedOver: 0 }) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const h = req.headers;
    const length = h['content-length'];
    if (
      req.method !== 'POST' ||
      req.url !== '/graphql' ||
      !h.authorization ||
      !JSON_TYPES.has((h['content-type'] ?? '').toLowerCase()) ||
      h['content-encoding'] !== undefined ||
      h['transfer-encoding'] !== undefined ||
      length === undefined ||
      !/^\d{1,12}$/.test(length) ||
      Number(length) > deps.maxBodyBytes ||
      (h.accept !== undefined && h.accept !== '*/*' && h.accept !== 'application/json')
    ) {
      deps.fallback(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let settled = false;
    const handOver = (handed: Handed) => {
      stats.handedOver++;
      (req as Marked)[HANDED] = handed;
      deps.fallback(req, res);
    };
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('error', () => {
      if (settled) return;
      settled = true;
      handOver({ error: { status: 400, type: 'request.aborted', message: 'request aborted' } });
    });
    req.once('end', () => {
      if (settled) return;
      settled = true;
      const parsed = parseJsonBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      if ('error' in parsed) return handOver(parsed);
      void answer(req, res, parsed.body).then((json) => {
        if (json === null) return handOver(parsed);
        stats.answered++;
        res.statusCode = 200;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(json);
      });
    });
    // A client gone before the end of its body gets no answer, from here or from Express.
    req.once('close', () => {
      settled = true;
    });
  };

  /** The answer, or null for Express (an unexpected failure included: Apollo then answers or reports it). */
  async function answer(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<string | null> {
    try {
      const plain = await readPlainRequest(req, body, deps.authenticate);
      return plain ? await deps.answer(plain, deps.startLog(req, res, '/graphql')) : null;
    } catch {
      return null;
    }
  }
}

/** The body as Express's JSON parser (strict) gives it, or the 400 it fails with. */
export function parseJsonBody(raw: Buffer): { body: unknown } | { error: { status: number; type: string; message: string } } {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return { body: {} };
  let i = 0;
  while (i < text.length && JSON_WHITESPACE.has(text[i]!)) i++;
  const first = text[i];
  const failed = (message: string) => ({ error: { status: 400, type: 'entity.parse.failed', message } });
  if (first !== '{' && first !== '[') return failed('the body is not a JSON object or array');
  try {
    return { body: JSON.parse(text) as unknown };
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Before Express's JSON parser on /graphql: a request the fast path read already gets that body (or
 * its parse error, which the application's error handler answers as it answers the parser's).
 */
export function preReadBody(req: Request, _res: Response, next: NextFunction): void {
  const handed = (req as Marked)[HANDED];
  if (!handed) return next();
  if (handed.error) return next(handed.error);
  req.body = handed.body;
  next();
}

/**
 * The same answer inside Express, for the plain queries the fast path does not take (a session
 * cookie, a chunked body, a charset parameter...); a request the fast path already tried goes on to
 * Apollo at once.
 */
export function plainQueryMiddleware(deps: { authenticate(req: IncomingMessage): Promise<Caller | null>; answer: PlainAnswer }) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if ((req as Marked)[HANDED]) return next();
    const plain = await readPlainRequest(req, req.body, deps.authenticate);
    if (!plain) return next();
    const json = await deps.answer(plain, req.requestId ?? '');
    if (json === null) return next();
    res.status(200).setHeader('content-type', 'application/json; charset=utf-8');
    res.end(json);
  };
}
