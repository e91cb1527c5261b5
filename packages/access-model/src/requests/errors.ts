/** The contract's codes a request operation can fail with; the gateway maps them one to one. */
export type AccessRequestErrorCode = 'NOT_FOUND' | 'BAD_USER_INPUT' | 'FORBIDDEN' | 'CONFLICT';

/** A refusal of the access-request workflow; `message` is shown to the caller as is. */
export class AccessRequestError extends Error {
  constructor(
    readonly code: AccessRequestErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AccessRequestError';
  }
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return !!e && e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
