import { GraphQLError } from 'graphql';

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
