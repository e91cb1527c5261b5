/** A Graph error that retrying will not fix (or whose retries ran out). Callers branch on `code`. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly graphMessage: string,
    readonly requestId: string | null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(`Graph ${status} ${code}: ${graphMessage}${requestId ? ` (request-id ${requestId})` : ''}`);
    this.name = 'GraphError';
  }
}

/**
 * A link (`@odata.nextLink`, `@odata.deltaLink`, a stored checkpoint, an SDK request) that points
 * outside the connector's Graph origin (scheme, host and port of `graphBaseUrl`): it is not followed,
 * so neither the bearer token nor any request goes to another host. Status 0: nothing was sent.
 */
export class GraphLinkRefusedError extends GraphError {
  constructor(
    readonly link: string,
    readonly graphOrigin: string,
  ) {
    super(
      0,
      'LinkOutsideGraphOrigin',
      `refused to follow ${redactLink(link)}: it is not on this connector's Graph origin ${graphOrigin} (links are followed only to the same scheme, host and port)`,
      null,
    );
    this.name = 'GraphLinkRefusedError';
  }
}

/** Scheme, host, port and path of a link, without its query (which may carry skip/delta tokens). */
function redactLink(link: string): string {
  try {
    const u = new URL(link);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return JSON.stringify(link.slice(0, 200));
  }
}

/** Token acquisition failed, e.g. AADSTS7000215 invalid_client: the identity platform's code and description. */
export class GraphAuthError extends Error {
  constructor(
    readonly code: string,
    readonly description: string,
  ) {
    super(`token request failed: ${code}: ${description}`);
    this.name = 'GraphAuthError';
  }
}

interface GraphErrorBody {
  error?: { code?: string; message?: string };
}

export function graphErrorFrom(status: number, body: unknown, requestId: string | null, retryAfterMs: number | null = null): GraphError {
  const e = (body as GraphErrorBody | undefined)?.error;
  return new GraphError(status, e?.code ?? `Http${status}`, e?.message ?? '', requestId, retryAfterMs);
}
