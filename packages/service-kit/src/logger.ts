import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Every field name whose value is a secret, wherever it appears in a logged object (compared
 * case-insensitively, so `Authorization`, `AUTHORIZATION` and `authorization` are all one entry).
 * The value is replaced by `[redacted]`; the key stays, so a reader sees that it was there.
 *
 * Not here, deliberately: `certificatePem` (a certificate is public: it is what Entra ID shows and
 * what the token endpoint is sent in the clear as `x5t`; its private key, `privateKeyPem`, is here);
 * `code` (Graph's and our error codes use that name; the OAuth authorization code is never logged).
 */
export const REDACTED_FIELDS: readonly string[] = [
  // Connector credentials and the deployment's OAuth app.
  'clientSecret',
  'client_secret',
  'oauthClientSecret',
  'privateKeyPem',
  'secret',
  'credentials',
  'secret_ciphertext',
  'password',
  // Tokens and signed assertions (identity platform responses and our own bearer tokens).
  'access_token',
  'refresh_token',
  'id_token',
  'accessToken',
  'refreshToken',
  'idToken',
  'token',
  'bearerToken',
  'metricsToken',
  'assertion',
  'client_assertion',
  'clientAssertion',
  // Browser sign-in (the gateway's /auth routes): the PKCE verifier.
  'code_verifier',
  // HTTP headers that carry credentials (Node lower-cases incoming header names; outgoing ones vary).
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  // GraphQL variables may carry a connector's secret (createConnector, updateConnector).
  'variables',
  // The services' secret environment variables, should an environment object ever be logged.
  'WARDEN_SECRET_KEYS',
  'AUTH_JWT_SECRET',
  'OAUTH_CLIENT_SECRET',
  'OIDC_CLIENT_SECRET',
  'METRICS_TOKEN',
  'DATABASE_URL',
  // Notifications (governance worker): the webhook's HMAC key; the SMTP URL may carry a password.
  'NOTIFY_WEBHOOK_SECRET',
  'SMTP_URL',
];

export const REDACTION_CENSOR = '[redacted]';

const SECRET_KEYS = new Set(REDACTED_FIELDS.map((f) => f.toLowerCase()));
/** How deep into a logged object secrets are looked for (top level = 0). Deeper values are logged as they are. */
export const REDACTION_DEPTH = 6;

/** True when `key` names a secret field (any case). */
export function isSecretField(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase());
}

function walkable(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value) || value instanceof Error) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `value` with every secret field's value replaced by `[redacted]`, down to REDACTION_DEPTH levels.
 * Copy-on-write: the caller's objects are never changed, and an object without secrets is returned
 * as it is (no allocation). Errors stay errors (same prototype, message and stack), so pino's error
 * serializer still sees them.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > REDACTION_DEPTH || !walkable(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = redactSecrets(item, depth + 1);
      if (next !== item) (copy ??= [...value])[i] = next;
    }
    return (copy ?? value) as T;
  }
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  const keys = Object.keys(source);
  if (value instanceof Error && 'cause' in value && !keys.includes('cause')) keys.push('cause');
  for (const key of keys) {
    const item = source[key];
    const next = isSecretField(key) ? (item === undefined ? item : REDACTION_CENSOR) : redactSecrets(item, depth + 1);
    if (next === item) continue;
    if (!copy) {
      copy = value instanceof Error ? (Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>) : {};
      Object.defineProperties(copy, Object.getOwnPropertyDescriptors(source));
    }
    Object.defineProperty(copy, key, {
      value: next,
      enumerable: Object.prototype.propertyIsEnumerable.call(source, key),
      writable: true,
      configurable: true,
    });
  }
  return (copy ?? value) as T;
}

export interface LoggerOptions {
  /** The service's name (`name` of every line). */
  name: string;
  /** pino level (LOG_LEVEL). */
  level: string;
  /** Where lines go; stderr when omitted (tests pass a memory stream). */
  destination?: DestinationStream;
}

/**
 * The one logger of every Warden service: pino, JSON lines to stderr, every field named in
 * REDACTED_FIELDS replaced by `[redacted]` at any depth up to REDACTION_DEPTH — in the logged
 * object and in a child logger's bindings. (pino's own `redact` paths need one path per depth and
 * per spelling and made every line ten times slower; this walk costs a key lookup per field.)
 */
export function createLogger(opts: LoggerOptions): Logger {
  const logger = pino(
    {
      name: opts.name,
      level: opts.level,
      formatters: {
        log: (object) => redactSecrets(object),
        bindings: (bindings) => redactSecrets(bindings),
      },
    },
    opts.destination ?? pino.destination(2),
  );
  // pino drops the bindings formatter for children; a child's bindings are redacted here instead
  // (children inherit this method, so grandchildren too).
  const pinoChild = logger.child as unknown as (this: Logger, bindings: object, options?: object) => Logger;
  logger.child = function redactedChild(this: Logger, bindings: object, options?: object): Logger {
    return pinoChild.call(this, redactSecrets(bindings), options);
  } as unknown as Logger['child'];
  return logger;
}
