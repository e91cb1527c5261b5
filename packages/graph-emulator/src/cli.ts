import { parseArgs } from 'node:util';
import pino from 'pino';
import { z } from 'zod';
import { startEmulator } from './emulator';
import type { TenantCounts } from './types';

const COUNT_FLAGS: Record<string, keyof TenantCounts> = {
  users: 'users',
  groups: 'groups',
  memberships: 'memberships',
  'large-groups': 'largeGroups',
  apps: 'enterpriseApps',
  'enterprise-apps': 'enterpriseApps',
  'managed-identities': 'managedIdentities',
  assignments: 'appRoleAssignments',
  'app-role-assignments': 'appRoleAssignments',
  devices: 'devices',
  'org-contacts': 'orgContacts',
  'role-assignments': 'roleAssignments',
  eligibilities: 'roleEligibilitySchedules',
  'custom-roles': 'customRoles',
};

const argsSchema = z.object({
  size: z.enum(['S', 'M', 'L', 'XL']).default('S'),
  seed: z.coerce.number().int().default(1),
  port: z.coerce.number().int().min(0).max(65535).default(0),
  host: z.string().default('127.0.0.1'),
  'public-host': z
    .string()
    .regex(/^[a-zA-Z0-9.-]+$/)
    .optional(),
  'no-throttle': z.boolean().optional(),
  /** Comma-separated web redirect URIs of the Warden app. */
  'warden-redirect-uris': z
    .string()
    .transform((v) => v.split(',').map((u) => u.trim()))
    .pipe(z.array(z.url()).min(1))
    .optional(),
});

async function main(): Promise<void> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    size: { type: 'string' },
    seed: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'public-host': { type: 'string' },
    'no-throttle': { type: 'boolean' },
    'warden-redirect-uris': { type: 'string' },
    help: { type: 'boolean' },
  };
  for (const f of Object.keys(COUNT_FLAGS)) options[f] = { type: 'string' };
  const { values } = parseArgs({ options, strict: true });
  if (values['help']) {
    process.stderr.write(
      `usage: graph-emulator [--size S|M|L|XL] [--seed N] [--port P] [--host H] [--public-host NAME] [--no-throttle] [--warden-redirect-uris URL[,URL…]]\n` +
        `  counts: ${Object.keys(COUNT_FLAGS)
          .map((f) => `--${f} N`)
          .join(' ')}\n`,
    );
    return;
  }
  const args = argsSchema.parse({ ...values, size: typeof values['size'] === 'string' ? values['size'].toUpperCase() : undefined });
  const counts: Partial<TenantCounts> = {};
  for (const [flag, key] of Object.entries(COUNT_FLAGS)) {
    const v = values[flag];
    if (typeof v === 'string') counts[key] = z.coerce.number().int().min(0).parse(v);
  }
  const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'info' }, pino.destination(2));
  const emu = await startEmulator({
    size: args.size,
    seed: args.seed,
    port: args.port,
    host: args.host,
    counts,
    logger,
    ...(args['public-host'] ? { publicHost: args['public-host'] } : {}),
    ...(args['warden-redirect-uris'] ? { wardenRedirectUris: args['warden-redirect-uris'] } : {}),
    ...(args['no-throttle'] ? { settings: { throttle: { enabled: false, ruPer10s: 8000, writesPer150s: 3000 } } } : {}),
  });
  process.stdout.write(`${JSON.stringify(emu.config)}\n`);
  let closing = false;
  const stop = (sig: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ sig }, 'stopping');
    emu.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`graph-emulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
