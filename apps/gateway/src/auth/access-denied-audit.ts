import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '@warden/database';
import type { GatewayContext } from '../context';
import { appendCallerAudit } from './audit-actor';
import type { Caller } from './roles';
import { asContractError, ForbiddenError } from '../errors';

export const ACCESS_DENIED_ACTION = 'access.denied';

/**
 * At most one `access.denied` row per (subject, operation) per window; attempts in between are
 * counted and reported in the next row (`details.suppressedBefore`). In memory, per gateway replica:
 * each replica writes at most one row per window for a given pair, and a burst that ends inside a
 * window is reported with the next attempt of that pair (or not, if none comes).
 */
export class DeniedAttemptLimiter {
  private readonly pairs = new Map<string, { lastWrittenAt: number; suppressed: number }>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxPairs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** null = do not write (counted); otherwise write a row reporting `suppressedBefore` earlier attempts. */
  admit(subject: string, operation: string): { suppressedBefore: number } | null {
    const key = `${subject}\u0000${operation}`;
    const t = this.now();
    const entry = this.pairs.get(key);
    if (entry && t - entry.lastWrittenAt < this.windowMs) {
      entry.suppressed++;
      return null;
    }
    const suppressedBefore = entry?.suppressed ?? 0;
    this.pairs.delete(key);
    // Map order is insertion order: the first entry is the one written longest ago.
    if (this.pairs.size >= this.maxPairs) this.pairs.delete(this.pairs.keys().next().value as string);
    this.pairs.set(key, { lastWrittenAt: t, suppressed: 0 });
    return { suppressedBefore };
  }
}

/** `Mutation.deleteConnector` for a top-level field, whatever alias the document used. */
function operationOf(kind: string, e: GraphQLError): string {
  const node = e.nodes?.[0];
  const field = node && node.kind === 'Field' ? node.name.value : String(e.path?.[e.path.length - 1] ?? 'unknown');
  const type = kind === 'mutation' ? 'Mutation' : kind === 'subscription' ? 'Subscription' : 'Query';
  return (e.path?.length ?? 1) > 1 ? `${type}…${field}` : `${type}.${field}`;
}

/**
 * The one place FORBIDDEN answers are audited: every FORBIDDEN error of a request (whichever resolver
 * or rule raised it, over HTTP or graphql-ws) becomes an `access.denied` row with the caller's subject
 * and role, the operation attempted, the operation name, the reason and the connector when the rule
 * knew it, rate-limited per (subject, operation) by DeniedAttemptLimiter. Writing the row never
 * changes the answer: a failure is logged.
 */
export class AccessDeniedAuditor {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    private readonly limiter = new DeniedAttemptLimiter(),
  ) {}

  async record(
    caller: Caller | null | undefined,
    operationKind: string,
    errors: readonly GraphQLError[],
    operationName: string | null | undefined,
    requestId: string,
  ): Promise<void> {
    if (!caller) return;
    for (const e of errors) {
      const original = asContractError(unwrapResolverError(e));
      if (!(original instanceof ForbiddenError)) continue;
      const attempted = operationOf(operationKind, e);
      const admitted = this.limiter.admit(caller.sub, attempted);
      if (!admitted) continue;
      try {
        await appendCallerAudit(this.db, caller, {
          action: ACCESS_DENIED_ACTION,
          connectorId: original.connectorId,
          details: {
            role: caller.role,
            attempted,
            ...(operationName ? { operationName } : {}),
            ...(e.path ? { path: e.path.join('.') } : {}),
            reason: original.message,
            requestId,
            suppressedBefore: admitted.suppressedBefore,
          },
        });
      } catch (err) {
        this.logger.error({ err: err instanceof Error ? err.message : String(err), requestId }, 'could not audit a FORBIDDEN attempt');
      }
    }
  }

  /** The HTTP side: an Apollo plugin that hands every request's errors to `record`. */
  plugin(): ApolloServerPlugin<GatewayContext> {
    return {
      requestDidStart: async () => ({
        didEncounterErrors: async ({ contextValue, errors, operation, operationName }) => {
          await this.record(contextValue?.caller, operation?.operation ?? 'query', errors, operationName, contextValue.requestId);
        },
      }),
    };
  }
}
