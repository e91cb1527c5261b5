import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { Bus } from '@warden/bus';
import { createDb, migrateToLatest, type Database } from '@warden/database';
import { createLogger, SecretBox, startMetricsServer } from '@warden/service-kit';
import { AccessDeniedAuditor } from './auth/access-denied-audit';
import { authenticate, type JwtConfig } from './auth/jwt';
import { OidcVerifier } from './auth/oidc';
import { BrowserAuth, disabledBrowserRoutes } from './auth/browser';
import type { Caller } from './auth/roles';
import { createContext, createServices, type GatewayContext, type GatewayDeps } from './context';
import { devTokensEnabled, parseEnvironment, type GatewayEnvironment, type GatewayEnvironmentInput } from './environment';
import { formatError, requestIdsOnInternalErrors } from './errors-format';
import { WardenError } from './errors';
import { TokenEndpointProbe, type CredentialProbe } from './modules/connectors/credential-probe';
import { createMetrics } from './ops/metrics';
import { opsRoutes, requestLog, requestLogger } from './ops/routes';
import { buildSchema } from './schema';
import { isLimitError } from './security/limit-error';
import { QueryLimits } from './security/limits';
import { HostAllowlist, allowlistedProbe } from './security/host-allowlist';
import { attachSubscriptions } from './subscriptions/server';
import { ChangeFeed } from './response-cache/change-feed';
import { ResponseCache } from './response-cache/response-cache';
import { CallerScope } from './response-cache/caller-scope';
import { cachedAnswer } from './response-cache/http-fast-path';
import { leanQueryPath, type LeanPathStats } from './execution/lean-path';
import { plainQueryMiddleware, preReadBody, queryFastPath, type PlainAnswer, type QueryFastPathStats } from './http/query-fast-path';
import { oauthCallbackRoute, oauthStartRoute } from './modules/connectors/oauth-callback.route';
import { reviewExportRoute } from './modules/reviews/review-export.route';
import { auditExportRoute } from './modules/audit/audit-export.route';
import { consoleRoutes, DEFAULT_CONSOLE_DIR } from './web/console';

const DOCUMENT_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

export interface RunningGateway {
  /** http://host:port/graphql (the same URL serves graphql-ws subscriptions). */
  url: string;
  port: number;
  /** http://host:port/metrics on METRICS_PORT, or null when METRICS_PORT is unset. */
  metricsUrl: string | null;
  /** Null when RESPONSE_CACHE_MB is 0. */
  responseCache: ResponseCache | null;
  /** Queries answered without Apollo (see execution/lean-path.ts). */
  leanPath: LeanPathStats;
  /** Requests answered before Express, or read there and handed to it (see http/query-fast-path.ts). */
  fastPath: QueryFastPathStats;
  /** Resolves once every change committed before the call is known to the response cache. */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

/** Optional replacements for tests and benchmarks (e.g. a Kysely instance that counts queries). */
export interface GatewayOverrides {
  db?: Kysely<Database>;
  bus?: Bus;
  logger?: Logger;
  probe?: CredentialProbe;
}

export async function startGateway(
  input: GatewayEnvironment | GatewayEnvironmentInput | Record<string, string | undefined>,
  overrides: GatewayOverrides = {},
): Promise<RunningGateway> {
  const env = parseEnvironment(input as Record<string, string | undefined>);
  const logger = overrides.logger ?? createLogger({ name: 'gateway', level: env.LOG_LEVEL });
  const db =
    overrides.db ??
    createDb({
      connectionString: env.DATABASE_URL,
      max: env.DB_POOL_SIZE,
      applicationName: 'warden-gateway',
      preparedStatements: 500,
      idleTimeoutMs: env.DB_IDLE_TIMEOUT_MS,
    });
  const ownsDb = !overrides.db;
  await migrateToLatest(db);
  const bus = overrides.bus ?? (await Bus.connect({ url: env.NATS_URL, namespace: env.BUS_NAMESPACE, name: 'warden-gateway' }));
  const ownsBus = !overrides.bus;

  const allowlist = new HostAllowlist(env.ALLOWED_GRAPH_HOSTS);
  const deps: GatewayDeps = {
    db,
    bus,
    env,
    logger,
    box: SecretBox.fromConfig(env.WARDEN_SECRET_KEYS),
    allowlist,
    probe: allowlistedProbe(overrides.probe ?? new TokenEndpointProbe(), allowlist),
  };
  const services = createServices(deps);
  const metrics = createMetrics({ maxOperationNames: env.METRICS_MAX_OPERATION_NAMES });
  const schema = buildSchema();
  // One set of document limits for HTTP and graphql-ws.
  const limits = new QueryLimits(schema, {
    maxDepth: env.MAX_QUERY_DEPTH,
    maxComplexity: env.MAX_QUERY_COMPLEXITY,
    maxAliases: env.MAX_QUERY_ALIASES,
    maxDirectives: env.MAX_QUERY_DIRECTIVES,
    maxTokens: env.MAX_QUERY_TOKENS,
    introspection: env.GRAPHQL_INTROSPECTION,
  });
  const jwt: JwtConfig = {
    secret: env.AUTH_JWT_SECRET,
    devTokens: devTokensEnabled(env),
    oidc: env.OIDC_ISSUER
      ? new OidcVerifier({
          issuer: env.OIDC_ISSUER,
          audience: (env.OIDC_AUDIENCE ?? env.OIDC_CLIENT_ID)!,
          maxTtlSeconds: env.AUTH_MAX_TOKEN_TTL,
          acceptV1Issuer: env.OIDC_ACCEPT_V1_ISSUER,
          jwksCooldownMs: env.OIDC_JWKS_COOLDOWN_SECONDS * 1000,
        })
      : null,
    issuer: env.AUTH_JWT_ISSUER,
    audience: env.AUTH_JWT_AUDIENCE,
    maxTtlSeconds: env.AUTH_MAX_TOKEN_TTL,
  };
  logger.info(
    { devTokens: jwt.devTokens, oidcIssuer: env.OIDC_ISSUER ?? null, oidcAudience: jwt.oidc?.config.audience ?? null },
    'bearer tokens accepted',
  );

  // Browser sign-in (auth/browser.ts) only with everything it needs.
  const browser =
    jwt.oidc && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET && env.PUBLIC_URL
      ? new BrowserAuth(
          {
            publicUrl: env.PUBLIC_URL,
            clientId: env.OIDC_CLIENT_ID,
            clientSecret: env.OIDC_CLIENT_SECRET,
            apiScope: env.OIDC_API_SCOPE ?? `api://${env.OIDC_CLIENT_ID}/access_as_user`,
            idleTimeoutSeconds: env.SESSION_IDLE_TIMEOUT,
            maxLifetimeSeconds: env.SESSION_MAX_LIFETIME,
          },
          jwt.oidc,
          db,
          deps.box,
          logger,
          bus,
        )
      : null;
  logger.info(
    browser
      ? { browserSignIn: true, callback: `${env.PUBLIC_URL!.replace(/\/+$/, '')}/auth/callback` }
      : { browserSignIn: false, needs: 'OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, PUBLIC_URL' },
    'browser sign-in',
  );
  // The caller of an HTTP request: its bearer token, else its session cookie (once per request).
  const requestCallers = new WeakMap<IncomingMessage, Promise<Caller | null>>();
  const requestCaller = (req: IncomingMessage): Promise<Caller | null> => {
    let pending = requestCallers.get(req);
    if (!pending) {
      const header = req.headers.authorization;
      const cookie = !header && browser ? browser.sessionOf(req.headers) : undefined;
      pending = cookie !== undefined && browser ? browser.callerFor(cookie).then((s) => s.caller) : authenticate(jwt, header);
      requestCallers.set(req, pending);
    }
    return pending;
  };

  let responseCache: ResponseCache | null = null;
  if (env.RESPONSE_CACHE_MB > 0) {
    const feed = new ChangeFeed(env.DATABASE_URL, logger, 1_000, env.RESPONSE_CACHE_HEARTBEAT_MS);
    feed.onRoundTrip = (seconds) => metrics.catchUp.observe(seconds);
    await feed.start();
    responseCache = new ResponseCache(feed, new CallerScope(schema), Math.round(env.RESPONSE_CACHE_MB * 1024 * 1024), (outcome, name) =>
      // Only authenticated requests are looked up; the label is bounded like the operations metric's.
      metrics.responseCache.inc({ outcome, name: metrics.operationName(name, true) }),
    );
  }
  const cacheFeed = responseCache?.feed ?? null;
  const leanPath: LeanPathStats = { answered: 0, handedOver: 0 };
  const fastPath: QueryFastPathStats = { answered: 0, handedOver: 0 };

  const countAnswered = (name: string | null): void => {
    metrics.operations.inc({ type: 'query', name: metrics.operationName(name, true), outcome: 'ok' });
  };
  // A plain query's answer wherever it is asked (before Express or inside it): the response cache, then the lean path.
  const lean = leanQueryPath(
    {
      schema,
      limits,
      cache: responseCache,
      context: (caller, requestId) => createContext(deps, services, caller, requestId),
      onAnswered: countAnswered,
    },
    leanPath,
  );
  const fromCache = responseCache
    ? cachedAnswer({
        cache: responseCache,
        onHit: countAnswered,
      })
    : null;
  const answerPlain: PlainAnswer = async (plain, requestId) => (fromCache ? await fromCache(plain) : null) ?? lean(plain, requestId);

  const app = express();
  app.disable('x-powered-by');
  // ETags need a hash of every body, and nothing revalidates POSTed GraphQL answers.
  app.set('etag', false);
  const httpServer: Server = createServer(
    queryFastPath(
      {
        maxBodyBytes: env.MAX_BODY_BYTES,
        authenticate: requestCaller,
        answer: answerPlain,
        startLog: requestLogger(logger, metrics),
        fallback: app,
      },
      fastPath,
    ),
  );

  const operationMetrics: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, operationName, errors, response, request, contextValue }) {
          // GraphQL over HTTP: a client that accepts only application/json gets 200 for documents that
          // fail to parse, validate or coerce (the errors are in the body); graphql-response+json keeps 4xx.
          const accept = request.http?.headers.get('accept') ?? '';
          const documentErrors =
            (errors ?? []).length > 0 && (errors ?? []).every((e) => DOCUMENT_ERROR_CODES.has(String(e.extensions['code'])));
          // A document refused by a limit (depth, cost, aliases, directives, tokens) is 400 either way.
          const refusedByLimit = (errors ?? []).some((e) => isLimitError(e));
          if (refusedByLimit) response.http.status = 400;
          else if (response.http.status === 400 && documentErrors && !accept.includes('application/graphql-response+json'))
            response.http.status = 200;
          const failed =
            (errors?.length ?? 0) > 0 || (response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0);
          const name = metrics.operationName(operationName ?? request.operationName, Boolean(contextValue?.caller));
          metrics.operations.inc({ type: operation?.operation ?? 'unknown', name, outcome: failed ? 'error' : 'ok' });
        },
      };
    },
  };

  // One auditor, so the per-(subject, operation) rate limit holds across HTTP and WebSocket.
  const deniedAudit = new AccessDeniedAuditor(db, logger);
  const apollo = new ApolloServer<GatewayContext>({
    schema,
    // Apollo's switch stays on: the shared limits refuse introspection without a token
    // (QueryLimits.checkOperation) and for everyone when GRAPHQL_INTROSPECTION=false (one rule for
    // HTTP and graphql-ws, so a refusal reads the same on both).
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGINT/SIGTERM and closes everything in order; Apollo's own handler would stop only
    // itself and then re-raise the signal, killing the process before the bus and database close.
    stopOnTerminationSignals: false,
    // Credentials travel only in the Authorization header, which a cross-site form or <img> cannot
    // set, so Apollo's CSRF preflight requirement would only break plain GET clients.
    csrfPrevention: false,
    parseOptions: limits.parseOptions,
    validationRules: limits.validationRules,
    formatError: formatError(logger),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // No HTTP caching here, and its per-field hook would wrap every resolver.
      ApolloServerPluginCacheControlDisabled(),
      limits.plugin(),
      operationMetrics,
      requestIdsOnInternalErrors(logger),
      deniedAudit.plugin(),
      ...(responseCache ? [responseCache.plugin()] : []),
    ],
  });
  await apollo.start();

  app.use(requestLog(logger, metrics));
  const router = express.Router();
  opsRoutes(router, { db, bus, metrics, metricsToken: env.METRICS_TOKEN });
  router.get('/oauth/start', oauthStartRoute(services.connectors, logger, env.PUBLIC_URL));
  router.get('/oauth/callback', oauthCallbackRoute(services.connectors, logger, env.PUBLIC_URL));
  router.get('/exports/access-reviews/:file', reviewExportRoute(db, requestCaller, logger));
  router.get('/audit/export.csv', auditExportRoute(services.audit, requestCaller, logger));
  if (browser) browser.routes(router);
  else disabledBrowserRoutes(router);
  app.use(router);
  const consoleDir = env.CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR;
  const web = env.CONSOLE_DIR === 'none' ? null : consoleRoutes(consoleDir);
  logger.info(web ? { console: consoleDir } : { console: null, reason: `no build in ${consoleDir} (npm run build)` }, 'web console');
  app.use(
    '/graphql',
    // CSRF: a request authenticated by the session cookie must be a same-origin JSON POST.
    (req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (browser && !req.headers.authorization && browser.sessionOf(req.headers) !== undefined) {
        const refusal = browser.csrfRefusal(req);
        if (refusal) {
          res.status(403).json({ errors: [{ message: refusal, extensions: { code: 'FORBIDDEN' } }] });
          return;
        }
      }
      next();
    },
    preReadBody,
    express.json({ limit: env.MAX_BODY_BYTES }),
    plainQueryMiddleware({ authenticate: requestCaller, answer: answerPlain }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        let caller;
        try {
          caller = await requestCaller(req);
        } catch (err) {
          // A bad token fails the whole request with 401; a missing one lets resolvers decide.
          if (err instanceof WardenError) throw new WardenError('UNAUTHENTICATED', err.message, 401);
          throw err;
        }
        return createContext(deps, services, caller, req.requestId ?? randomUUID());
      },
    }),
  );
  // After the API: the console's fallback page must never shadow a route.
  if (web) app.use(web);
  app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { type?: string; status?: number };
    if (e?.type === 'entity.too.large') {
      res
        .status(413)
        .json({ errors: [{ message: `request body exceeds ${env.MAX_BODY_BYTES} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] });
      return;
    }
    if (e?.status === 400) {
      res.status(400).json({ errors: [{ message: 'the request body is not valid JSON', extensions: { code: 'BAD_USER_INPUT' } }] });
      return;
    }
    logger.error({ requestId: req.requestId, err: err instanceof Error ? err.message : String(err) }, 'unhandled HTTP error');
    res.status(500).json({
      errors: [{ message: `internal server error (request id ${req.requestId ?? ''})`, extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
    });
  });

  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: env.MAX_BODY_BYTES });
  const subscriptions = attachSubscriptions({
    wss,
    schema,
    deps,
    services,
    jwt,
    browser,
    metrics,
    limits,
    maxOperations: env.WS_MAX_OPERATIONS,
    deniedAudit,
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(env.PORT, env.HOST, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
  const url = `http://${host}:${port}/graphql`;
  const metricsServer =
    env.METRICS_PORT === undefined
      ? null
      : await startMetricsServer({ registry: metrics.registry, port: env.METRICS_PORT, host: env.METRICS_HOST, token: env.METRICS_TOKEN });
  logger.info({ url, metrics: metricsServer?.url ?? null }, 'gateway listening');

  let closed = false;
  return {
    url,
    port,
    metricsUrl: metricsServer?.url ?? null,
    responseCache,
    leanPath,
    fastPath,
    caughtUp: () => cacheFeed?.caughtUp() ?? Promise.resolve(),
    async close() {
      if (closed) return;
      closed = true;
      browser?.close();
      await cacheFeed?.close();
      await subscriptions.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await apollo.stop();
      await metricsServer?.close();
      if (ownsBus) await bus.close();
      if (ownsDb) await db.destroy();
    },
  };
}
