import { randomUUID } from 'node:crypto';
import { GraphQLError, parse, specifiedRules, validate, getOperationAST, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import { verifyToken, bearerToken, type JwtConfig } from '../auth/jwt';
import type { Caller } from '../auth/roles';
import { createContext, type GatewayDeps, type Services } from '../context';
import { WardenError } from '../errors';
import type { Metrics } from '../ops/metrics';
import { depthLimit } from '../security/depth-limit';

interface SubscriptionOptions {
  wss: WebSocketServer;
  schema: GraphQLSchema;
  deps: GatewayDeps;
  services: Services;
  jwt: JwtConfig;
  metrics: Metrics;
  maxDepth: number;
}

/**
 * graphql-ws on the HTTP server's /graphql path. The bearer token travels in connection_init
 * (`{ authorization: 'Bearer …' }`); a missing or bad token closes the socket with 4403 before any
 * operation. Events come from NATS through the Bus, so every replica can serve every subscriber.
 */
export function attachSubscriptions(o: SubscriptionOptions): { dispose(): Promise<void> } {
  const callers = new WeakMap<object, Caller>();
  const disposable = useServer(
    {
      schema: o.schema,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.['authorization'] ?? ctx.connectionParams?.['Authorization'];
        try {
          const token = bearerToken(typeof raw === 'string' ? raw : null);
          if (!token) return false;
          callers.set(ctx, await verifyToken(o.jwt, token));
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [new GraphQLError(err instanceof Error ? err.message : 'syntax error', { extensions: { code: 'BAD_USER_INPUT' } })];
        }
        const errors = validate(o.schema, document, [...specifiedRules, depthLimit(o.maxDepth)]);
        if (errors.length) return errors.map((e) => new GraphQLError(e.message, { extensions: { code: 'BAD_USER_INPUT' } }));
        const op = getOperationAST(document, payload.operationName);
        if (op?.operation === 'subscription') {
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
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return undefined;
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
  const original = e.originalError;
  if (original instanceof WardenError) return { message: original.message, path: e.path, extensions: { code: original.code } };
  if (!original && typeof e.extensions['code'] === 'string') return { message: e.message, path: e.path, extensions: { code: e.extensions['code'] } };
  const requestId = randomUUID();
  deps.logger.error({ requestId, err: original?.message ?? e.message }, 'subscription error');
  return { message: `internal server error (request id ${requestId})`, path: e.path, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } };
}
