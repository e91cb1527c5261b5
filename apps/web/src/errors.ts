import type { CombinedError } from 'urql';

const BY_CODE: Record<string, string> = {
  UNAUTHENTICATED: 'Your session has ended. Sign in again.',
  FORBIDDEN: 'You are not allowed to do this.',
  NOT_FOUND: 'It does not exist (any more).',
  CONFLICT: 'This conflicts with the current state.',
  BAD_USER_INPUT: 'Some input is not valid.',
  INTERNAL_SERVER_ERROR: 'The server could not answer. Try again in a moment.',
};

/** The code of the first GraphQL error, or of the HTTP status (401, 403). */
export function errorCode(error: CombinedError | undefined): string | undefined {
  if (!error) return undefined;
  const code = error.graphQLErrors.find((e) => typeof e.extensions?.['code'] === 'string')?.extensions['code'];
  if (typeof code === 'string') return code;
  const status = (error.response as { status?: number } | undefined)?.status;
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  return undefined;
}

/**
 * A person-readable message: the gateway's own message for input, conflict and permission errors
 * (they say what to change), a plain sentence otherwise; never a stack trace.
 */
export function humanError(error: CombinedError | undefined): string {
  if (!error) return '';
  if (error.networkError && error.graphQLErrors.length === 0) {
    const code = errorCode(error);
    return code ? BY_CODE[code]! : 'The server cannot be reached. Check your connection and try again.';
  }
  const first = error.graphQLErrors[0];
  const code = errorCode(error);
  if (first && code && code !== 'INTERNAL_SERVER_ERROR') return `${first.message.charAt(0).toUpperCase()}${first.message.slice(1)}`;
  return (code && BY_CODE[code]) ?? 'Something went wrong. Try again in a moment.';
}
