import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { createTestBus, type TestBus } from '@warden/bus/testing';
import { mintToken } from '../src/auth/jwt';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

let db: TestDatabase;
let bus: TestBus;
beforeAll(async () => {
  db = await createTestDatabase('warden_gw_main');
  bus = await createTestBus();
});
afterAll(async () => {
  await bus.destroy();
  await db.drop();
});

describe('the deployable (tsx src/main.ts, as npm start and the image run it)', () => {
  it('starts with only the required variables, answers a minted token, and stops on SIGTERM', async () => {
    const port = await freePort();
    const secret = randomBytes(32).toString('base64url');
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        NATS_URL: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
        BUS_NAMESPACE: bus.namespace,
        WARDEN_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        AUTH_JWT_SECRET: secret,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        NODE_ENV: '',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | string | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
    try {
      const deadline = Date.now() + 30_000;
      let ready = false;
      while (!ready && Date.now() < deadline && proc.exitCode === null) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (!ready) await new Promise((r) => setTimeout(r, 200));
      }
      expect(err).toBe('');
      expect(ready).toBe(true);
      const token = await mintToken({ secret, issuer: 'warden', audience: 'warden' }, { sub: 'alice', role: 'VIEWER' });
      const r = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { subject } }' }),
      });
      expect(await r.json()).toEqual({ data: { me: { subject: 'alice' } } });
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0); // a clean close, not death by the signal
  });

  it('is a production gateway unless told otherwise: it refuses to start with a development-token secret', async () => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATABASE_URL: db.url,
      BUS_NAMESPACE: bus.namespace,
      WARDEN_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      AUTH_JWT_SECRET: randomBytes(32).toString('base64url'),
      AUTH_DEV_TOKENS: 'true',
      PORT: String(await freePort()),
    };
    delete env['NODE_ENV']; // main.ts makes an unset NODE_ENV 'production'
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toMatch(/AUTH_JWT_SECRET: development tokens are never accepted with NODE_ENV=production/);
    expect(err).toMatch(/AUTH_DEV_TOKENS: development tokens are never accepted/);
    expect(err).toMatch(/OIDC_ISSUER: required with NODE_ENV=production/);
    expect(err).not.toContain(env['AUTH_JWT_SECRET']!);
  });
});
