import { GraphQLError } from 'graphql';
import { AuthenticationError, AuthorizationError } from 'type-graphql';

/** The error codes of the contract; nothing else reaches a client. */
export const ERROR_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'INTERNAL_SERVER_ERROR'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure the caller can act on; its message is shown as is, so it never holds secrets or SQL. */
export class WardenError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    httpStatus?: number,
  ) {
    super(message, { extensions: { code, ...(httpStatus ? { http: { status: httpStatus } } : {}) } });
  }
}

export class UnauthenticatedError extends WardenError {
  constructor(message = 'authentication required: send Authorization: Bearer <token>') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends WardenError {
  /** The connector the refused call was about, when known (recorded in the `access.denied` audit row). */
  readonly connectorId: string | null;

  constructor(message: string, opts: { connectorId?: string | null } = {}) {
    super('FORBIDDEN', message);
    this.connectorId = opts.connectorId ?? null;
  }
}

export class BadUserInputError extends WardenError {
  constructor(message: string) {
    super('BAD_USER_INPUT', message);
  }
}

export class NotFoundError extends WardenError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends WardenError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/**
 * type-graphql's own refusals (what it throws when an authChecker answers false) as the contract's
 * errors. src/auth/authorize.ts's checker throws UnauthenticatedError / ForbiddenError itself, so
 * these appear only if a checker ever answers false; they must still read UNAUTHENTICATED / FORBIDDEN
 * (and a FORBIDDEN still be audited), never type-graphql's UNAUTHORIZED or an internal error.
 */
export function asContractError<T>(e: T): T | WardenError {
  if (e instanceof AuthenticationError) return new UnauthenticatedError();
  if (e instanceof AuthorizationError) return new ForbiddenError('your role may not do this');
  return e;
}
