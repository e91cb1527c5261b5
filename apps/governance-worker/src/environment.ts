import { commonEnvironment, metricsEnvironment, parseEnvironmentWith } from '@warden/service-kit';
import { z } from 'zod';
import { requestsEnvironment } from './requests/environment';

// A boolean as text; an already-parsed environment (booleans) parses again to the same values.
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

// Compose passes an unset optional variable as '' (`${VAR:-}`): that means "not configured".
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** A duration in seconds: a number of seconds, or a number with s, m, h or d (24h, 90m, 2d). */
const duration = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(/^\d+\s*[smhd]?$/, 'a number of seconds, or a number with s, m, h or d (e.g. 24h)')
    .transform((v) => {
      const n = Number.parseInt(v, 10);
      const unit = v.trim().slice(-1);
      return n * (unit === 'm' ? 60 : unit === 'h' ? 3_600 : unit === 'd' ? 86_400 : 1);
    }),
]);

const EnvironmentSchema = z
  .object({
    ...commonEnvironment,
    ...metricsEnvironment,
    ...requestsEnvironment,
    /**
     * Upper bound of every loop's interval (ms). Unset in production (each loop keeps its own
     * cadence); tests and `npm start` lower it so timers fire quickly.
     */
    GOVERNANCE_MAX_INTERVAL_MS: z.coerce.number().int().min(10).max(3_600_000).optional(),
    /** How often the outbox is polled for new and due notifications. */
    NOTIFY_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(2_000),
    /** Attempts per delivery before it is DEAD (the dead-letter record). */
    NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
    /** Retry delay after the first failure; doubles per attempt (with jitter) up to NOTIFY_RETRY_MAX_MS. */
    NOTIFY_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(5_000),
    NOTIFY_RETRY_MAX_MS: z.coerce.number().int().min(1).max(86_400_000).default(3_600_000),
    /** Seed of the retry jitter; unset = random (the seed in use is logged at start). */
    NOTIFY_RANDOM_SEED: z.coerce.number().int().min(0).max(4_294_967_295).optional(),
    /**
     * SENT notifications are deleted this many days after they were created (DEAD ones are kept);
     * a dedupeKey is remembered that long.
     */
    NOTIFY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(180),
    /** The log channel: one info line per notification (on by default; `npm start` relies on it). */
    NOTIFY_LOG: flag.default(true),
    /** Webhook channel: POST each notification as signed JSON here (unset = no webhook). */
    NOTIFY_WEBHOOK_URL: optional(z.url({ protocol: /^https?$/ })),
    /** HMAC-SHA256 key of the webhook signature; required with NOTIFY_WEBHOOK_URL. */
    NOTIFY_WEBHOOK_SECRET: optional(z.string().min(16)),
    /** Per-request timeout of the webhook. */
    NOTIFY_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /** Email channel: nodemailer transport URL, e.g. smtps://user:pass@smtp.example.com:465 (unset = no email). */
    SMTP_URL: optional(z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')),
    /** From address of notification emails; required with SMTP_URL. */
    NOTIFY_EMAIL_FROM: optional(z.string().min(3)),
    /** Access reviews: how often due reviews are completed, remediation followed and reminders sent. */
    REVIEW_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(5_000),
    /** Access reviews: the reminder to reviewers with undecided items goes out this long before dueAt (e.g. 24h, 90m, 3600). */
    REVIEW_REMINDER_BEFORE: duration.default(86_400),
    /** Access reviews: the escalation (reviewers, fallback subjects and connector owners) this long before dueAt. */
    REVIEW_ESCALATE_BEFORE: duration.default(7_200),
    /**
     * Test failpoint: after a batch of a review's revokes was requested, wait this long before its
     * items link the tasks, so a crash test can kill the worker in between. Never set in production.
     */
    REVIEW_TEST_HOLD_AFTER_REQUEST_MS: z.coerce.number().int().min(0).max(600_000).optional(),
    /** ... and only from the batch after this many (the crash test that kills a worker halfway). */
    REVIEW_TEST_HOLD_AFTER_BATCHES: z.coerce.number().int().min(0).max(1_000).optional(),
    /**
     * Test only (the chaos suite's clock jumps): a file holding a number of milliseconds this
     * worker's clock runs ahead of the real one (read again every 200 ms). Refused with NODE_ENV=production.
     */
    GOVERNANCE_TEST_CLOCK_OFFSET_FILE: optional(z.string().min(1)),
    NODE_ENV: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.GOVERNANCE_TEST_CLOCK_OFFSET_FILE && env.NODE_ENV === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['GOVERNANCE_TEST_CLOCK_OFFSET_FILE'],
        message: 'is a test-only setting and is refused with NODE_ENV=production',
      });
    }
    if (env.NOTIFY_WEBHOOK_URL && !env.NOTIFY_WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['NOTIFY_WEBHOOK_SECRET'], message: 'is required when NOTIFY_WEBHOOK_URL is set' });
    }
    if (env.SMTP_URL && !env.NOTIFY_EMAIL_FROM) {
      ctx.addIssue({ code: 'custom', path: ['NOTIFY_EMAIL_FROM'], message: 'is required when SMTP_URL is set' });
    }
  });

export type GovernanceWorkerEnvironment = z.infer<typeof EnvironmentSchema>;
export type GovernanceWorkerEnvironmentInput = z.input<typeof EnvironmentSchema>;

/**
 * Environments this module produced. startGovernanceWorker uses such an object as it is instead of
 * parsing it again: a transform (a duration → milliseconds) need not be idempotent.
 */
const PARSED = new WeakSet<object>();

/** Parses the worker's variables; throws one error naming every bad variable. */
export function parseEnvironment(source: Record<string, string | number | undefined> = process.env): GovernanceWorkerEnvironment {
  const env = parseEnvironmentWith(EnvironmentSchema, 'governance-worker', source);
  PARSED.add(env);
  return env;
}

/** `input` itself when parseEnvironment made it, else its parse. */
export function ensureParsed(input: object): GovernanceWorkerEnvironment {
  return PARSED.has(input) ? (input as GovernanceWorkerEnvironment) : parseEnvironment(input as Record<string, string | undefined>);
}
