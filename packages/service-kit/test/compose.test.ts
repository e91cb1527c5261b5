import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { KNOWN_DEVELOPMENT_SECRETS, commonEnvironment, parseEnvironmentWith } from '../src/environment';

// No docker engine runs in CI: the compose files are parsed and checked for what `docker compose`
// would do with them (interpolation as the compose spec defines it: ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BASE = path.join(ROOT, 'docker-compose.yml');
const DEV = path.join(ROOT, 'docker-compose.dev.yml');

type Doc = {
  services: Record<
    string,
    { environment?: Record<string, unknown>; ports?: string[]; volumes?: string[]; depends_on?: Record<string, unknown> }
  >;
};

class MissingVariable extends Error {}

function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^{}]|\{[^{}]*\})*))?\}/g,
    (whole, name: string | undefined, colon: string, op: string, arg: string) => {
      if (whole === '$$') return '$';
      const value = env[name!];
      const unset = colon ? !value : value === undefined;
      if (op === '?' && unset) throw new MissingVariable(`required variable ${name} is missing a value: ${arg}`);
      if (op === '-' && unset) return interpolate(arg, env);
      return value ?? '';
    },
  );
}

function load(file: string, env: Record<string, string>): Doc {
  return parse(interpolate(readFileSync(file, 'utf8'), env), { merge: true }) as Doc;
}

/** What every interpolation failure of a file says, variable by variable (compose stops at the first). */
function missingVariables(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const missing = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('#')) continue;
    try {
      interpolate(line, {});
    } catch (err) {
      if (!(err instanceof MissingVariable)) throw err;
      missing.add(/required variable (\w+)/.exec(err.message)![1]!);
    }
  }
  return [...missing].sort();
}

const GOOD = {
  AUTH_JWT_SECRET: 'Zt2q9V7c1xYk4LpR8mWn3sHb6JdF0gAeQ5uTiOyCvBk',
  WARDEN_SECRET_KEYS: `k1:${Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64')}`,
  POSTGRES_PASSWORD: 'pw-not-known',
};

const serviceSchema = z.object({ ...commonEnvironment, AUTH_JWT_SECRET: z.string().min(32).optional() });

describe('docker-compose.yml', () => {
  it('has no default for any secret: with no environment, compose refuses to start and names them', () => {
    expect(() => load(BASE, {})).toThrow(MissingVariable);
    expect(missingVariables(BASE)).toEqual(['AUTH_JWT_SECRET', 'POSTGRES_PASSWORD', 'WARDEN_SECRET_KEYS']);
    expect(() => load(BASE, { ...GOOD, AUTH_JWT_SECRET: '' })).toThrow(/AUTH_JWT_SECRET/);
    expect(() => load(BASE, { ...GOOD, WARDEN_SECRET_KEYS: '' })).toThrow(/WARDEN_SECRET_KEYS/);
  });

  it('carries none of the published development secrets, in any service, with or without the dev override', () => {
    for (const file of [BASE, DEV]) {
      const text = readFileSync(file, 'utf8');
      for (const known of [
        ...KNOWN_DEVELOPMENT_SECRETS.AUTH_JWT_SECRET.filter((k) => k.length >= 16),
        ...KNOWN_DEVELOPMENT_SECRETS.WARDEN_SECRET_KEYS,
      ]) {
        expect(text).not.toContain(known);
      }
    }
    const doc = load(BASE, GOOD);
    for (const [name, service] of Object.entries(doc.services)) {
      const env = service.environment ?? {};
      if ('AUTH_JWT_SECRET' in env) expect(env['AUTH_JWT_SECRET'], name).toBe(GOOD.AUTH_JWT_SECRET);
      if ('WARDEN_SECRET_KEYS' in env) expect(env['WARDEN_SECRET_KEYS'], name).toBe(GOOD.WARDEN_SECRET_KEYS);
    }
  });

  it('publishes the gateway on 127.0.0.1 only (inside the container it listens on 0.0.0.0) and runs with NODE_ENV=production', () => {
    const doc = load(BASE, GOOD);
    const gateway = doc.services['gateway']!;
    expect(gateway.ports).toEqual(['127.0.0.1:4000:4000']);
    expect(gateway.environment!['HOST']).toBe('0.0.0.0');
    for (const [name, service] of Object.entries(doc.services)) {
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
      if (service.environment && 'WARDEN_SECRET_KEYS' in service.environment)
        expect(service.environment['NODE_ENV'], name).toBe('production');
    }
  });

  it('has no emulator: no service, no CA mount or NODE_EXTRA_CA_CERTS, no emulator host allowed', () => {
    const text = readFileSync(BASE, 'utf8')
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join('\n');
    expect(text).not.toMatch(/emulator/i);
    const doc = load(BASE, GOOD);
    expect(Object.keys(doc.services).sort()).toEqual([
      'gateway',
      'governance-worker',
      'nats',
      'postgres',
      'provision-worker',
      'sync-worker',
    ]);
    for (const [name, service] of Object.entries(doc.services)) {
      expect(service.environment?.['NODE_EXTRA_CA_CERTS'], name).toBeUndefined();
      expect(
        (service.volumes ?? []).some((v) => v.includes('/ca')),
        name,
      ).toBe(false);
      const allowed = String(service.environment?.['ALLOWED_GRAPH_HOSTS'] ?? '');
      if (service.environment && 'WARDEN_SECRET_KEYS' in service.environment) {
        // Both workers get the allowlist too: they re-check stored connector URLs before calling Graph.
        expect(allowed, name).toBe('graph.microsoft.com,login.microsoftonline.com');
      }
    }
  });

  it('keeps the emulator in docker-compose.dev.yml, on 127.0.0.1, with its CA and host only there', () => {
    const dev = load(DEV, GOOD);
    expect(Object.keys(dev.services)).toContain('graph-emulator');
    expect(dev.services['graph-emulator']!.ports).toEqual(['127.0.0.1:8443:8443']);
    for (const name of ['gateway', 'sync-worker', 'provision-worker']) {
      expect(dev.services[name]!.environment!['NODE_EXTRA_CA_CERTS']).toBe('/ca/ca.pem');
      expect(String(dev.services[name]!.environment!['ALLOWED_GRAPH_HOSTS'])).toContain('graph-emulator:8443');
    }
    expect(readFileSync(DEV, 'utf8')).toMatch(/DEVELOPMENT ONLY/);
  });

  it('a service started from the compose environment with the old public values refuses to start (NODE_ENV=production)', () => {
    const oldJwt = 'development-only-secret-change-me-0123456789';
    const oldKeys = 'k1:ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMhISE=';
    const doc = load(BASE, { ...GOOD, AUTH_JWT_SECRET: oldJwt, WARDEN_SECRET_KEYS: oldKeys });
    const env = doc.services['gateway']!.environment as Record<string, string>;
    expect(env['NODE_ENV']).toBe('production');
    expect(() => parseEnvironmentWith(serviceSchema, 'gateway', env)).toThrow(
      /AUTH_JWT_SECRET: is a published development value[\s\S]*WARDEN_SECRET_KEYS: key 'k1' is a published development key/,
    );
    const good = load(BASE, GOOD).services['gateway']!.environment as Record<string, string>;
    expect(parseEnvironmentWith(serviceSchema, 'gateway', good).AUTH_JWT_SECRET).toBe(GOOD.AUTH_JWT_SECRET);
  });
});
