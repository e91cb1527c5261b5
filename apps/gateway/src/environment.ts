import { allowedGraphHostsEnvironment, commonEnvironment, parseEnvironmentWith } from '@warden/schema';
import { z } from 'zod';
import { parseMaxTtl } from './auth/jwt';

const EnvironmentSchema = z.object({
  ...commonEnvironment,
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Loopback by default; containers set HOST=0.0.0.0 explicitly (Dockerfile, docker-compose.yml). */
  HOST: z.string().min(1).default('127.0.0.1'),
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
  AUTH_JWT_ISSUER: z.string().min(1).default('warden'),
  /** Required `aud` of bearer tokens. */
  AUTH_JWT_AUDIENCE: z.string().min(1).default('warden'),
  /** Longest token lifetime (exp − iat) accepted: '30d', '12h' or seconds; → seconds. */
  AUTH_MAX_TOKEN_TTL: z
    .string()
    .default('30d')
    .transform((v, ctx) => {
      const s = parseMaxTtl(v);
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
  OAUTH_CLIENT_ID: z.string().min(1).optional(),
  OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
  /** Postgres pool size for this process. */
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  /** Limits that protect the database from expensive documents. */
  MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
  MAX_QUERY_COMPLEXITY: z.coerce.number().int().min(10).default(25_000),
  MAX_BODY_BYTES: z.coerce.number().int().min(1_024).default(102_400),
  /** Memory for whole query responses, invalidated by the database's change feed; 0 turns it off. */
  RESPONSE_CACHE_MB: z.coerce.number().min(0).max(4_096).default(64),
});

export type GatewayEnvironment = z.infer<typeof EnvironmentSchema>;
export type GatewayEnvironmentInput = z.input<typeof EnvironmentSchema>;

/** Parses the gateway's variables; throws one error naming every bad variable. */
export function parseEnvironment(source: Record<string, string | number | undefined> = process.env): GatewayEnvironment {
  return parseEnvironmentWith(EnvironmentSchema, 'gateway', source);
}
