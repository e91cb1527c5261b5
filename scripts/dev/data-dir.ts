import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Everything `npm start` keeps between runs (git-ignored). */
export const DATA_DIR = path.join(REPO_ROOT, '.data');
export const DEV_ENV_FILE = path.join(DATA_DIR, 'dev.env');

/**
 * Development secrets, generated on first start and kept in .data/dev.env so tokens and encrypted
 * connector credentials survive restarts. Real deployments set these variables themselves.
 */
export function loadOrCreateDevSecrets(): { AUTH_JWT_SECRET: string; WARDEN_SECRET_KEYS: string } {
  mkdirSync(DATA_DIR, { recursive: true });
  const values = existsSync(DEV_ENV_FILE) ? parseEnvFile(readFileSync(DEV_ENV_FILE, 'utf8')) : {};
  const secrets = {
    AUTH_JWT_SECRET: values.AUTH_JWT_SECRET ?? randomBytes(32).toString('base64url'),
    WARDEN_SECRET_KEYS: values.WARDEN_SECRET_KEYS ?? `dev1:${randomBytes(32).toString('base64')}`,
  };
  writeFileSync(
    DEV_ENV_FILE,
    `# Written by npm start for local development only. Do not use these values in production.\n` +
      Object.entries(secrets)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') +
      '\n',
    { mode: 0o600 },
  );
  return secrets;
}

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}
