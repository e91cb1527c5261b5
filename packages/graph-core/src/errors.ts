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
