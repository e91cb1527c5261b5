import type { BrowserAuth } from '../auth/browser';
import { randomUUID } from 'node:crypto';
import { GraphQLError, parse, specifiedRules, validate, getOperationAST, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import type { WebSocket, WebSocketServer } from 'ws';
import { verifyToken, bearerToken, type JwtConfig } from '../auth/jwt';
import type { Caller } from '../auth/roles';
import type { AccessDeniedAuditor } from '../auth/access-denied-audit';
import { createContext, type GatewayContext, type GatewayDeps, type Services } from '../context';
import { asContractError, WardenError } from '../errors';
import type { Metrics } from '../ops/metrics';
import type { QueryLimits } from '../security/limits';

/** Close code when the token a socket was opened with expires (graphql-ws uses 4401 for "Unauthorized"). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4401;
/** A socket authenticated by a browser session closes with this when the session ends (logout). */
export const SESSION_ENDED_CLOSE_CODE = 4401;
/** setTimeout's longest delay (about 24.8 days); a longer-lived token is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface SubscriptionOptions {
  wss: WebSocketServer;
  schema: GraphQLSchema;
  deps: GatewayDeps;
  services: Services;
  jwt: JwtConfig;
  /** Browser sign-in: a socket without a token may authenticate by the session cookie of its upgrade request. */
  browser?: BrowserAuth | null;
  metrics: Metrics;
  /** The same parse options, validation rules and operation checks as HTTP. */
  limits: QueryLimits;
  /** Operations running at once on one socket (WS_MAX_OPERATIONS). */
  maxOperations: number;
  /** FORBIDDEN answers over the socket are audited like those over HTTP. */
  deniedAudit: AccessDeniedAuditor;
}

/**
 * graphql-ws on the HTTP server's /graphql path. The bearer token travels in connection_init
 * (`{ authorization: 'Bearer …' }`); a missing or bad token closes the socket with 4403 before any
 * operation, and the socket is closed with 4401 when that token's `exp` passes. Every operation
 * passes the HTTP transport's limits (tokens, depth, aliases, directives, introspection, cost); at
 * most `maxOperations` run at once per socket. Events come from NATS through the Bus, so every
 * replica can serve every subscriber.
 */
export function attachSubscriptions(o: SubscriptionOptions): { dispose(): Promise<void> } {
  const callers = new WeakMap<object, Caller>();
  const expiryTimers = new WeakMap<object, NodeJS.Timeout>();
  const sessionEnds = new WeakMap<object, () => void>();
  const closeAtExpiry = (ctx: object, socket: WebSocket, expiresAt: number) => {
    const wait = expiresAt - Date.now();
    if (wait <= 0) {
      socket.close(TOKEN_EXPIRED_CLOSE_CODE, 'token expired');
      return;
    }
    const timer = setTimeout(() => closeAtExpiry(ctx, socket, expiresAt), Math.min(wait, MAX_TIMER_MS));
    timer.unref();
    expiryTimers.set(ctx, timer);
  };
  const disposable = useServer(
    {
      schema: o.schema,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.['authorization'] ?? ctx.connectionParams?.['Authorization'];
        try {
          const token = bearerToken(typeof raw === 'string' ? raw : null);
          const request = ctx.extra.request;
          const cookie = !token && o.browser ? o.browser.sessionOf(request.headers) : undefined;
          if (!token && cookie !== undefined && o.browser) {
            // CSRF (cross-site WebSocket hijacking): the upgrade must come from PUBLIC_URL's origin.
            if (request.headers.origin !== o.browser.origin) return false;
            const session = await o.browser.callerFor(cookie);
            callers.set(ctx, session.caller);
            // The socket lives no longer than the session's absolute lifetime.
            closeAtExpiry(ctx, ctx.extra.socket, session.expiresAt);
            // Logout on this replica closes the socket at once.
            const socket = ctx.extra.socket;
            sessionEnds.set(
              ctx,
              o.browser.onEnd(session.id, () => socket.close(SESSION_ENDED_CLOSE_CODE, 'session ended')),
            );
            return true;
          }
          if (!token) return false;
          callers.set(ctx, await verifyToken(o.jwt, token));
          // verifyToken required `exp`; the socket lives no longer than the token.
          const exp = decodeJwt(token).exp;
          if (typeof exp !== 'number') return false;
          closeAtExpiry(ctx, ctx.extra.socket, exp * 1000);
          return true;
        } catch {
          return false;
        }
      },
      onClose: (ctx) => {
        sessionEnds.get(ctx)?.();
        sessionEnds.delete(ctx);
        const timer = expiryTimers.get(ctx);
        if (timer) clearTimeout(timer);
        expiryTimers.delete(ctx);
      },
      onSubscribe: (ctx, _id, payload) => {
        // graphql-ws registers the operation before this hook, so the count includes this one.
        const running = Object.keys(ctx.subscriptions).length;
        if (running > o.maxOperations) {
          return [
            new GraphQLError(
              `too many operations on this socket: at most ${o.maxOperations} may run at once (WS_MAX_OPERATIONS); complete one first`,
              { extensions: { code: 'BAD_USER_INPUT' } },
            ),
          ];
        }
        let document;
        try {
          document = parse(payload.query, o.limits.parseOptions);
        } catch (err) {
          return [new GraphQLError(err instanceof Error ? err.message : 'syntax error', { extensions: { code: 'BAD_USER_INPUT' } })];
        }
        const errors = validate(o.schema, document, [...specifiedRules, ...o.limits.validationRules]);
        if (errors.length) return errors.map((e) => new GraphQLError(e.message, { extensions: { code: 'BAD_USER_INPUT' } }));
        const op = getOperationAST(document, payload.operationName);
        if (!op)
          return [
            new GraphQLError('the document has no operation of that name (or several and no operationName)', {
              extensions: { code: 'BAD_USER_INPUT' },
            }),
          ];
        try {
          o.limits.checkOperation(document, op, payload.variables, callers.get(ctx) ?? null);
        } catch (err) {
          const code = err instanceof WardenError ? err.code : 'BAD_USER_INPUT';
          return [new GraphQLError(err instanceof Error ? err.message : 'refused', { extensions: { code } })];
        }
        if (op.operation === 'subscription') {
          const field = op.selectionSet.selections[0];
          o.metrics.subscriptions.inc({ field: field?.kind === 'Field' ? field.name.value : 'unknown' });
        }
        return {
          schema: o.schema,
          document,
          variableValues: payload.variables ?? undefined,
          operationName: payload.operationName ?? undefined,
          contextValue: createContext(o.deps, o.services, callers.get(ctx) ?? null, randomUUID()),
        };
      },
      onNext: async (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return undefined;
        const context = args.contextValue as GatewayContext;
        const op = getOperationAST(args.document, args.operationName);
        await o.deniedAudit.record(
          context.caller,
          op?.operation ?? 'subscription',
          result.errors,
          args.operationName ?? op?.name?.value,
          context.requestId,
        );
        return { ...result, errors: result.errors.map((e) => publicError(e, o.deps)) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => publicError(e, o.deps)),
    },
    o.wss,
  );
  return {
    async dispose() {
      for (const client of o.wss.clients) client.close(1001, 'gateway shutting down');
      await disposable.dispose();
    },
  };
}

function publicError(e: GraphQLError, deps: GatewayDeps) {
  const original = asContractError(e.originalError);
  if (original instanceof WardenError) return { message: original.message, path: e.path, extensions: { code: original.code } };
  if (!original && typeof e.extensions['code'] === 'string')
    return { message: e.message, path: e.path, extensions: { code: e.extensions['code'] } };
  const requestId = randomUUID();
  deps.logger.error({ requestId, err: original?.message ?? e.message }, 'subscription error');
  return {
    message: `internal server error (request id ${requestId})`,
    path: e.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  };
}
