import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/roles';

/** A POSTed GraphQL query that the paths beside Apollo may answer, with its authenticated caller. */
export interface PlainRequest {
  query: string;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | null | undefined;
  caller: Caller;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The one reading of a request shared by the response cache and the lean path, whether the body was
 * parsed by Express or by the HTTP fast path (`body`): anything unusual (GET, extensions, another
 * media type, a malformed operationName or variables, no or a bad token) is null, and Apollo answers
 * it with its own errors.
 */
export async function readPlainRequest(
  req: IncomingMessage,
  body: unknown,
  authenticate: (req: IncomingMessage) => Promise<Caller | null>,
): Promise<PlainRequest | null> {
  if (req.method !== 'POST' || !isObject(body) || typeof body['query'] !== 'string' || body['extensions'] !== undefined) return null;
  const accept = req.headers.accept;
  if (accept !== undefined && accept !== '*/*' && accept !== 'application/json') return null;
  const operationName = body['operationName'];
  const variables = body['variables'];
  if (!(operationName === undefined || operationName === null || typeof operationName === 'string')) return null;
  if (!(variables === undefined || variables === null || isObject(variables))) return null;
  let caller: Caller | null;
  try {
    caller = await authenticate(req);
  } catch {
    return null;
  }
  if (!caller) return null;
  return { query: body['query'], operationName, variables, caller };
}
