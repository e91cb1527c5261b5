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

/** The codes @warden/access-model's workflows refuse with; each is the contract's code of the same name. */
export type RuleErrorCode = 'NOT_FOUND' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'CONFLICT';

/** The contract's error for a workflow's refusal (its message is written for the caller). */
export function codedError(code: RuleErrorCode, message: string): WardenError {
  switch (code) {
    case 'NOT_FOUND':
      return new NotFoundError(message);
    case 'FORBIDDEN':
      return new ForbiddenError(message);
    case 'CONFLICT':
      return new ConflictError(message);
    default:
      return new BadUserInputError(message);
  }
}

/**
 * One workflow's refusals as coded errors: `map` converts one (anything else passes through), `wrap`
 * awaits a call and converts what it throws. Every other error stays internal (masked by the formatter).
 */
export function ruleErrors(isRuleError: (e: unknown) => e is Error & { code: RuleErrorCode }) {
  const map = (err: unknown): unknown => (isRuleError(err) ? codedError(err.code, err.message) : err);
  return {
    map,
    async wrap<T>(p: Promise<T>): Promise<T> {
      try {
        return await p;
      } catch (err) {
        throw map(err);
      }
    },
  };
}
