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
  BUS_NAMESPACE: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('warden'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WARDEN_SECRET_KEYS: secretKeys,
};

/** The workers' Prometheus endpoint (the gateway serves /metrics on its own port). */
export const metricsEnvironment = {
  /** Port of GET /metrics and GET /healthz; unset = no endpoint, 0 = any free port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('0.0.0.0'),
};

/** Parses `source` with `schema`; throws one error that names every bad variable. */
export function parseEnvironmentWith<S extends z.ZodType>(
  schema: S,
  appName: string,
  source: Record<string, string | number | undefined>,
): z.infer<S> {
  const parsed = schema.safeParse(source);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`invalid ${appName} environment:\n  ${problems.join('\n  ')}`);
}
