import { DEFAULT_ALLOWED_GRAPH_HOSTS } from './host-allowlist';
import { z } from 'zod';

/** `id:base64-32-byte-key[,id2:key2]` — the first key encrypts, all decrypt (see secret-box.ts). */
const secretKeys = z
  .string()
  .min(1)
  .refine(
    (v) =>
      v.split(',').every((part) => {
        const material = part.includes(':') ? part.slice(part.indexOf(':') + 1) : part;
        return Buffer.from(material.trim(), 'base64').length === 32;
      }),
    'must be id:base64-32-byte-key[,id2:key2]',
  );

/** The variables every Warden service reads; each app extends this with its own. */
export const commonEnvironment = {
  DATABASE_URL: z.string().min(1),
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  BUS_NAMESPACE: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/)
    .default('warden'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WARDEN_SECRET_KEYS: secretKeys,
  /**
   * How long a service keeps an idle Postgres connection (0 = as long as it runs); unset = the
   * service's own default: pg's 10 s, except the sync worker's 30 min. A new connection is a new
   * server process that loads its caches and compiles the trigger functions from nothing, so work
   * that comes in bursts minutes apart pays that on every burst; kept connections hold a server
   * process each (a few MB) for as long, up to the service's pool size.
   */
  DB_IDLE_TIMEOUT_MS: z.coerce.number().int().min(0).max(86_400_000).optional(),
};

/** Where connectors may point (graphBaseUrl / authorityHost); the gateway and both workers read it. */
export const allowedGraphHostsEnvironment = {
  /** Comma list of hosts (`host` or `host:port`) or https origins; see config/host-allowlist.ts. */
  ALLOWED_GRAPH_HOSTS: z.string().min(1).default(DEFAULT_ALLOWED_GRAPH_HOSTS),
};

/** The workers' Prometheus endpoint (the gateway serves /metrics on its own port). */
export const metricsEnvironment = {
  /** Port of GET /metrics, GET /healthz and GET /readyz; unset = no endpoint, 0 = any free port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // Loopback unless the deployment says otherwise (containers set METRICS_HOST=0.0.0.0).
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
};

/**
 * Secret values that have appeared in this repository's shipped files (the old docker-compose.yml
 * defaults, documentation examples): public, so a production deployment must never run with them.
 * Keep every such value here; `test/environment.test.ts` checks that the compose files carry none.
 * For WARDEN_SECRET_KEYS the key material (base64 after `id:`) is compared, so renaming the key id
 * does not help.
 */
export const KNOWN_DEVELOPMENT_SECRETS: { readonly AUTH_JWT_SECRET: readonly string[]; readonly WARDEN_SECRET_KEYS: readonly string[] } = {
  AUTH_JWT_SECRET: ['development-only-secret-change-me-0123456789', 'change-me', 'changeme', 'secret'],
  WARDEN_SECRET_KEYS: [
    // base64 of 'development-only-key-32-bytes!!!'
    'ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMhISE=',
  ],
};

/** Distinct characters a production AUTH_JWT_SECRET needs at least (refuses 'aaaa…' and '0123…' padding). */
const MIN_DISTINCT_SECRET_CHARS = 12;
/** Distinct bytes a production WARDEN_SECRET_KEYS key needs at least (random 32 bytes have ~28). */
const MIN_DISTINCT_KEY_BYTES = 16;

/**
 * With NODE_ENV=production: the problems of the secrets in `source` (a published development value,
 * or too little material), one line each; empty when fine. Outside production nothing is refused
 * here (the schemas still require 32 characters / 32-byte keys everywhere).
 */
export function productionSecretProblems(source: Record<string, string | number | undefined>): string[] {
  if (source['NODE_ENV'] !== 'production') return [];
  const problems: string[] = [];
  const jwt = source['AUTH_JWT_SECRET'];
  if (typeof jwt === 'string' && jwt.length > 0) {
    const value = jwt.trim();
    if (KNOWN_DEVELOPMENT_SECRETS.AUTH_JWT_SECRET.some((k) => k === value)) {
      problems.push(
        'AUTH_JWT_SECRET: is a published development value (it appears in this repository); generate one with `openssl rand -base64 32`',
      );
    } else if (value.length < 32 || new Set(value).size < MIN_DISTINCT_SECRET_CHARS) {
      problems.push(
        `AUTH_JWT_SECRET: is too short or too simple for production (needs ≥ 32 characters and ≥ ${MIN_DISTINCT_SECRET_CHARS} distinct ones); generate one with \`openssl rand -base64 32\``,
      );
    }
  }
  const keys = source['WARDEN_SECRET_KEYS'];
  if (typeof keys === 'string' && keys.length > 0) {
    for (const part of keys.split(',')) {
      const id = part.includes(':') ? part.slice(0, part.indexOf(':')).trim() : '(unnamed)';
      const material = (part.includes(':') ? part.slice(part.indexOf(':') + 1) : part).trim();
      const bytes = Buffer.from(material, 'base64');
      if (KNOWN_DEVELOPMENT_SECRETS.WARDEN_SECRET_KEYS.some((k) => Buffer.from(k, 'base64').equals(bytes))) {
        problems.push(
          `WARDEN_SECRET_KEYS: key '${id}' is a published development key (it appears in this repository); generate one with \`openssl rand -base64 32\``,
        );
      } else if (bytes.length < 32 || new Set(bytes).size < MIN_DISTINCT_KEY_BYTES) {
        problems.push(`WARDEN_SECRET_KEYS: key '${id}' is too short or too simple for production (32 random bytes, base64)`);
      }
    }
  }
  return problems;
}

/**
 * Parses `source` with `schema`; throws one error that names every bad variable. With
 * NODE_ENV=production it also refuses published development secrets and weak ones
 * (productionSecretProblems), so no service starts with a key anyone can read in this repository.
 */
export function parseEnvironmentWith<S extends z.ZodType>(
  schema: S,
  appName: string,
  source: Record<string, string | number | undefined>,
): z.infer<S> {
  // An empty variable is an unset one: compose files pass `${VAR:-}` through as '' when VAR is not set.
  source = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(source);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  problems.push(...productionSecretProblems(source));
  if (parsed.success && problems.length === 0) return parsed.data;
  throw new Error(`invalid ${appName} environment:\n  ${problems.join('\n  ')}`);
}
