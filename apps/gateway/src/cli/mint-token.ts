import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { productionSecretProblems } from '@warden/service-kit';
import { DEFAULT_MAX_TOKEN_TTL_SECONDS, describeSeconds, mintToken, parseMaxTtl, ttlSeconds } from '../auth/jwt';
import { isRole, MEMBER, ROLES } from '../auth/roles';

/**
 * `npm run -s token -- --role SUPER_ADMIN --sub alice [--ttl 8h] [--tid <tenant id> --oid <object id>] [--name "Alice"]`
 * prints only the token. `--role MEMBER` mints a token without a role (a member: it may read `me` only);
 * `--tid`/`--oid` link the caller to its synced USER resources (`me.identities`), `--name` is `me.displayName`.
 * AUTH_JWT_SECRET (and AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, AUTH_MAX_TOKEN_TTL) come from the
 * environment, else from .data/dev.env (written by `npm start`). `--ttl` is at most 30 days, or
 * AUTH_MAX_TOKEN_TTL when that is shorter: the gateway refuses longer-lived tokens anyway.
 */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

function fromDevEnv(name: string): string | undefined {
  const file = path.join(REPO_ROOT, '.data', 'dev.env');
  if (!existsSync(file)) return undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m && m[1] === name) return m[2]!.trim();
  }
  return undefined;
}

function fail(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run -s token -- --role ${[...ROLES, MEMBER].join('|')} --sub <subject> [--ttl 8h] [--tid <tenant id>] [--oid <object id>] [--name <display name>]\n`,
  );
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        role: { type: 'string' },
        sub: { type: 'string' },
        ttl: { type: 'string', default: '8h' },
        tid: { type: 'string' },
        oid: { type: 'string' },
        name: { type: 'string' },
      },
    }));
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const role = values.role === MEMBER ? MEMBER : isRole(values.role) ? values.role : null;
  if (!role) fail(`--role must be one of ${[...ROLES, MEMBER].join(', ')} (MEMBER: a token without a role)`);
  if (!values.sub) fail('--sub is required');
  if (values.tid !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(values.tid))
    fail('--tid must be a GUID (the Entra tenant id)');
  if (values.oid !== undefined && !/^\S+$/.test(values.oid)) fail('--oid must be the Entra object id of the user');
  if (values.name !== undefined && !values.name.trim()) fail('--name must not be empty');
  const ttl = values.ttl ?? '8h';
  const seconds = /^\d+\s*[a-z]+$/i.test(ttl) ? ttlSeconds(ttl) : null;
  if (seconds === null || seconds <= 0) fail('--ttl must look like 15m, 8h or 30d');
  const configuredMax = process.env['AUTH_MAX_TOKEN_TTL'] || fromDevEnv('AUTH_MAX_TOKEN_TTL');
  const parsedMax = configuredMax ? parseMaxTtl(configuredMax) : null;
  if (configuredMax && parsedMax === null)
    fail(`AUTH_MAX_TOKEN_TTL '${configuredMax}' is not a duration such as 30d, 12h or a number of seconds`);
  const maxTtlSeconds = Math.min(DEFAULT_MAX_TOKEN_TTL_SECONDS, parsedMax ?? DEFAULT_MAX_TOKEN_TTL_SECONDS);
  if (seconds > maxTtlSeconds)
    fail(`--ttl ${ttl} is longer than the maximum token lifetime of ${describeSeconds(maxTtlSeconds)}; mint a shorter-lived token`);
  const secret = process.env['AUTH_JWT_SECRET'] || fromDevEnv('AUTH_JWT_SECRET');
  if (!secret) fail('AUTH_JWT_SECRET is not set and .data/dev.env does not exist (run npm start once, or export the variable)');
  if (secret.length < 32) fail('AUTH_JWT_SECRET must be at least 32 characters');
  // With NODE_ENV=production, the same refusal as the gateway's: no tokens signed with a published key.
  const problems = productionSecretProblems({ NODE_ENV: process.env['NODE_ENV'], AUTH_JWT_SECRET: secret });
  if (problems.length) fail(problems.join('\n'));
  const issuer = process.env['AUTH_JWT_ISSUER'] || fromDevEnv('AUTH_JWT_ISSUER') || 'warden';
  const audience = process.env['AUTH_JWT_AUDIENCE'] || fromDevEnv('AUTH_JWT_AUDIENCE') || 'warden';
  process.stdout.write(
    `${await mintToken(
      { secret, issuer, audience, maxTtlSeconds },
      {
        sub: values.sub,
        role,
        ttl,
        ...(values.tid ? { tid: values.tid.toLowerCase() } : {}),
        ...(values.oid ? { oid: values.oid } : {}),
        ...(values.name ? { name: values.name.trim() } : {}),
      },
    )}\n`,
  );
}

void main();
