import { allowedGraphHostsEnvironment, commonEnvironment, parseEnvironmentWith } from '@warden/service-kit';
import { z } from 'zod';
import { parseMaxTtl } from './auth/jwt';

/** 'true'/'false'/'1'/'0' from the environment, or an already parsed boolean. */
const booleanVariable = (fallback: boolean) =>
  z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]).default(fallback);

const EnvironmentSchema = z
  .object({
    ...commonEnvironment,
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    /** Loopback by default; containers set HOST=0.0.0.0 explicitly (Dockerfile, docker-compose.yml). */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** HS256 key of development tokens; required unless OIDC_ISSUER is set (see devTokensEnabled). */
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** true / false: accept HS256 development tokens or not; unset: see devTokensEnabled. */
    AUTH_DEV_TOKENS: z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]).optional(),
    /** OpenID Connect issuer of RS256 bearer tokens, e.g. https://login.microsoftonline.com/<tenant id>/v2.0. */
    OIDC_ISSUER: z
      .url()
      .refine((v) => v.startsWith('https://'), 'must be an https URL')
      .optional(),
    /** The deployment's app registration (client id); the default OIDC_AUDIENCE. */
    OIDC_CLIENT_ID: z.string().min(1).optional(),
    /** Required `aud` of RS256 tokens; default OIDC_CLIENT_ID. */
    OIDC_AUDIENCE: z.string().min(1).optional(),
    /** The app registration's client secret: enables browser sign-in (/auth/login, auth/browser.ts) with PUBLIC_URL. */
    OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    /** The API scope browser sign-in asks for; default `api://<OIDC_CLIENT_ID>/access_as_user`. */
    OIDC_API_SCOPE: z.string().min(1).optional(),
    /** No second JWKS fetch within this long after one (a token with an unknown `kid` waits it out). */
    OIDC_JWKS_COOLDOWN_SECONDS: z.coerce.number().min(0).max(3_600).default(30),
    /** A browser session unused this long ends (sliding): '8h', '30m' or seconds; → seconds. */
    SESSION_IDLE_TIMEOUT: z
      .union([z.string(), z.number()])
      .default('8h')
      .transform((v, ctx) => {
        const s = parseMaxTtl(String(v));
        if (s === null) {
          ctx.addIssue({ code: 'custom', message: "must be a duration such as '8h', '30m' or a number of seconds" });
          return z.NEVER;
        }
        return s;
      }),
    /** A browser session ends this long after sign-in, however much it is used; → seconds. */
    SESSION_MAX_LIFETIME: z
      .union([z.string(), z.number()])
      .default('24h')
      .transform((v, ctx) => {
        const s = parseMaxTtl(String(v));
        if (s === null) {
          ctx.addIssue({ code: 'custom', message: "must be a duration such as '24h', '12h' or a number of seconds" });
          return z.NEVER;
        }
        return s;
      }),
    /** Also accept the tenant's v1.0 access-token issuer https://sts.windows.net/<tenant id>/ (auth/oidc.ts). */
    OIDC_ACCEPT_V1_ISSUER: booleanVariable(true),
    /** `production`: development tokens are refused and OIDC_ISSUER is required (see devTokensEnabled). */
    NODE_ENV: z.string().optional(),
    AUTH_JWT_ISSUER: z.string().min(1).default('warden'),
    /** Required `aud` of bearer tokens. */
    AUTH_JWT_AUDIENCE: z.string().min(1).default('warden'),
    /**
     * Longest token lifetime (exp − iat) accepted: '30d', '12h' or seconds; → seconds. A number is an
     * already parsed value (startGateway parses what it is given, and main.ts gives it a parsed environment).
     */
    AUTH_MAX_TOKEN_TTL: z
      .union([z.string(), z.number()])
      .default('30d')
      .transform((v, ctx) => {
        const s = parseMaxTtl(String(v));
        if (s === null) {
          ctx.addIssue({ code: 'custom', message: "must be a duration such as '30d', '12h' or a number of seconds" });
          return z.NEVER;
        }
        return s;
      }),
    /** Comma list of hosts (`host` or `host:port`) or https origins that connectors may point at. */
    ...allowedGraphHostsEnvironment,
    /** Where browsers reach this gateway; the admin-consent redirect goes to `${PUBLIC_URL}/oauth/callback`. */
    PUBLIC_URL: z.url().optional(),
    /** The built web console (apps/web/dist); served at / when it holds an index.html. `none` turns it off. */
    CONSOLE_DIR: z.string().min(1).optional(),
    OAUTH_CLIENT_ID: z.string().min(1).optional(),
    OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
    /** Postgres pool size for this process. */
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
    /** Limits that protect the database from expensive documents. */
    MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
    MAX_QUERY_COMPLEXITY: z.coerce.number().int().min(10).default(25_000),
    MAX_QUERY_ALIASES: z.coerce.number().int().min(0).default(30),
    MAX_QUERY_DIRECTIVES: z.coerce.number().int().min(0).default(50),
    MAX_QUERY_TOKENS: z.coerce.number().int().min(200).default(2_000),
    /** `__schema` / `__type` for authenticated callers (never for anonymous ones); false turns it off. */
    GRAPHQL_INTROSPECTION: booleanVariable(true),
    /** Operations (subscriptions, queries, mutations) running at once on one graphql-ws socket. */
    WS_MAX_OPERATIONS: z.coerce.number().int().min(1).default(50),
    MAX_BODY_BYTES: z.coerce.number().int().min(1_024).default(102_400),
    /** GET /metrics (and /healthz) on their own listener; unset = none, 0 = any free port. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** When set, /metrics needs `Authorization: Bearer <METRICS_TOKEN>`, and is then also served on PORT. */
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Distinct operation names used as metric labels (first seen from authenticated callers); others are "other". */
    METRICS_MAX_OPERATION_NAMES: z.coerce.number().int().min(0).max(10_000).default(100),
    /** Memory for whole query responses, invalidated by the database's change feed; 0 turns it off. */
    RESPONSE_CACHE_MB: z.coerce.number().min(0).max(4_096).default(64),
    /** How often the change feed proves it is alive; a beat unanswered by the next one turns the cache off. */
    RESPONSE_CACHE_HEARTBEAT_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  })
  .superRefine((env, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (env.OIDC_ISSUER && !env.OIDC_AUDIENCE && !env.OIDC_CLIENT_ID)
      issue('OIDC_AUDIENCE', 'required with OIDC_ISSUER (or set OIDC_CLIENT_ID, its default)');
    if (!env.OIDC_ISSUER && (env.OIDC_AUDIENCE || env.OIDC_CLIENT_ID || env.OIDC_CLIENT_SECRET))
      issue('OIDC_ISSUER', 'required when OIDC_CLIENT_ID, OIDC_AUDIENCE or OIDC_CLIENT_SECRET is set');
    if (env.OIDC_CLIENT_SECRET && !env.OIDC_CLIENT_ID) issue('OIDC_CLIENT_ID', 'required when OIDC_CLIENT_SECRET is set');
    // Browser sign-in in production: session cookies must be Secure (loopback excepted, as for `npm start`).
    if (env.OIDC_CLIENT_SECRET && env.PUBLIC_URL && env.NODE_ENV === 'production') {
      const u = new URL(env.PUBLIC_URL);
      if (u.protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(u.hostname))
        issue('PUBLIC_URL', 'must be an https URL for browser sign-in (OIDC_CLIENT_SECRET) with NODE_ENV=production');
    }
    // Development tokens are signed with one shared secret that can mint any role: never in production.
    if (env.NODE_ENV === 'production') {
      if (env.AUTH_DEV_TOKENS === true) issue('AUTH_DEV_TOKENS', 'development tokens are never accepted with NODE_ENV=production');
      if (env.AUTH_JWT_SECRET)
        issue('AUTH_JWT_SECRET', 'development tokens are never accepted with NODE_ENV=production; remove it and sign in with OIDC_ISSUER');
      if (!env.OIDC_ISSUER) issue('OIDC_ISSUER', 'required with NODE_ENV=production (development tokens are not accepted there)');
      return;
    }
    if (env.AUTH_DEV_TOKENS === true && !env.AUTH_JWT_SECRET) issue('AUTH_JWT_SECRET', 'required when AUTH_DEV_TOKENS=true');
    else if (!env.OIDC_ISSUER && !env.AUTH_JWT_SECRET) issue('AUTH_JWT_SECRET', 'required (or configure OIDC_ISSUER)');
    else if (!env.OIDC_ISSUER && env.AUTH_DEV_TOKENS === false)
      issue('AUTH_DEV_TOKENS', 'false leaves no way to authenticate without OIDC_ISSUER');
  });

/**
 * Whether HS256 development tokens (AUTH_JWT_SECRET, the token CLI) are accepted:
 * - NODE_ENV=production: never (parseEnvironment refuses AUTH_JWT_SECRET and AUTH_DEV_TOKENS there);
 * - AUTH_DEV_TOKENS=true: yes; AUTH_DEV_TOKENS=false: never;
 * - unset: yes when AUTH_JWT_SECRET is set and OIDC_ISSUER is not (they are then the only way in);
 *   with OIDC_ISSUER too, also yes (a development gateway that signs people in through the emulator
 *   and still takes the CLI's tokens).
 */
export function devTokensEnabled(
  env: Pick<GatewayEnvironment, 'AUTH_DEV_TOKENS' | 'AUTH_JWT_SECRET' | 'OIDC_ISSUER' | 'NODE_ENV'>,
): boolean {
  if (env.NODE_ENV === 'production' || !env.AUTH_JWT_SECRET || env.AUTH_DEV_TOKENS === false) return false;
  return true;
}

export type GatewayEnvironment = z.infer<typeof EnvironmentSchema>;
export type GatewayEnvironmentInput = z.input<typeof EnvironmentSchema>;

/** Parses the gateway's variables; throws one error naming every bad variable. */
export function parseEnvironment(source: Record<string, string | number | undefined> = process.env): GatewayEnvironment {
  return parseEnvironmentWith(EnvironmentSchema, 'gateway', source);
}
