import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, isSecretField, REDACTED_FIELDS, REDACTION_DEPTH, redactSecrets } from '../src/logger';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function memoryLogger(level = 'debug') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger({ name: 'test', level, destination }), lines, text: () => lines.join('\n') };
}

/** `{ a: { a: … { [field]: value } } }` with the field `depth` levels down (0 = top level). */
function nestedAt(depth: number, field: string, value: string): Record<string, unknown> {
  let object: Record<string, unknown> = { [field]: value };
  for (let i = 0; i < depth; i++) object = { [`level${depth - i}`]: object };
  return object;
}

/** Every spelling a field may be logged with. */
function spellings(field: string): string[] {
  return [...new Set([field, field.toLowerCase(), field.toUpperCase(), field[0]!.toUpperCase() + field.slice(1)])];
}

describe('createLogger', () => {
  it('writes JSON lines with the service name and level', () => {
    const { logger, lines } = memoryLogger('info');
    logger.debug('not written');
    logger.info({ runId: 'r1' }, 'hello');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: 'test', level: 30, runId: 'r1', msg: 'hello' });
  });

  it('redacts every listed field, in every spelling, at the top level and nested down to the limit', () => {
    const { logger, text } = memoryLogger();
    const secrets: string[] = [];
    let n = 0;
    for (const field of REDACTED_FIELDS) {
      for (const spelling of spellings(field)) {
        for (let depth = 0; depth <= REDACTION_DEPTH; depth++) {
          const secret = `S3CRET-${n++}-value`;
          secrets.push(secret);
          logger.info(nestedAt(depth, spelling, secret), 'an object carrying a secret');
          // Inside an array, as a child logger's binding, and inside an error.
          logger.info({ items: [{ ok: 1 }, nestedAt(Math.max(0, depth - 2), spelling, secret)] }, 'an array');
          logger.child(nestedAt(depth, spelling, secret)).info('a child');
          logger.warn({ err: Object.assign(new Error('boom'), nestedAt(Math.max(0, depth - 1), spelling, secret)) }, 'an error');
        }
      }
    }
    const out = text();
    for (const secret of secrets) expect(out, secret).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('keeps what is not secret, and does not change the logged objects', () => {
    const { logger, lines } = memoryLogger();
    const headers = { authorization: 'Bearer abc.def.ghi', 'content-type': 'application/json' };
    const err = Object.assign(new Error('token endpoint said no'), { code: 'invalid_client', credentials: { clientSecret: 'hunter2' } });
    logger.info({ req: { method: 'POST', headers }, tokensIssued: 3, err }, 'request');
    const line = JSON.parse(lines[0]!) as {
      req: { method: string; headers: Record<string, string> };
      tokensIssued: number;
      err: Record<string, unknown>;
    };
    expect(line.req).toEqual({ method: 'POST', headers: { authorization: '[redacted]', 'content-type': 'application/json' } });
    expect(line.tokensIssued).toBe(3);
    expect(line.err).toMatchObject({ type: 'Error', message: 'token endpoint said no', code: 'invalid_client', credentials: '[redacted]' });
    expect(line.err['stack']).toMatch(/token endpoint said no/);
    expect(headers.authorization).toBe('Bearer abc.def.ghi');
    expect(err.credentials.clientSecret).toBe('hunter2');
    const plain = { a: { b: [1, 2] } };
    expect(redactSecrets(plain)).toBe(plain);
  });

  it('redacts an error cause and GraphQL variables', () => {
    const { logger, text } = memoryLogger();
    const cause = Object.assign(new Error('inner'), { access_token: 'eyJ-inner-token' });
    logger.error({ err: new Error('outer', { cause }) }, 'failed');
    logger.info({ operationName: 'createConnector', variables: { input: { clientSecret: 'in-variables' } } }, 'operation');
    expect(text()).not.toContain('eyJ-inner-token');
    expect(text()).not.toContain('in-variables');
    expect(text()).toContain('createConnector');
  });

  it('is cheap on lines without secrets', () => {
    const { logger } = memoryLogger('info');
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) logger.info({ runId: 'r', outcome: { status: 'ok', n: i }, connectorId: 'c' }, 'handled');
    // pino alone takes about 1 µs a line here; its path-based redact took ~12 µs. Generous for a loaded CI box.
    expect((performance.now() - started) / 20_000).toBeLessThan(0.05); // ms a line
  });
});

describe('the redaction list and the services', () => {
  /** Every environment schema of a service: apps/<name>/src/environment.ts and packages/<name>/src/environment.ts. */
  function environmentFiles(): string[] {
    return ['apps', 'packages'].flatMap((top) =>
      readdirSync(path.join(REPO_ROOT, top))
        .map((dir) => path.join(REPO_ROOT, top, dir, 'src', 'environment.ts'))
        .filter((file) => existsSync(file)),
    );
  }

  /** Variables whose names contain SECRET, KEY, TOKEN or PASSWORD but whose values are not secrets. */
  const NOT_SECRET: Record<string, string> = {
    AUTH_MAX_TOKEN_TTL: 'a duration',
    MAX_QUERY_TOKENS: 'a count of GraphQL document tokens',
    AUTH_DEV_TOKENS: 'a switch (true or false) for development tokens',
  };

  it('lists every secret-looking variable of every environment schema', () => {
    const files = environmentFiles();
    expect(files.map((f) => path.relative(REPO_ROOT, f).split(path.sep).join('/'))).toEqual(
      expect.arrayContaining([
        'apps/gateway/src/environment.ts',
        'apps/sync-worker/src/environment.ts',
        'apps/provision-worker/src/environment.ts',
        'apps/governance-worker/src/environment.ts',
        'packages/service-kit/src/environment.ts',
      ]),
    );
    const variables = new Set(
      files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^\s+([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\s*:/gm)].map((m) => m[1]!)),
    );
    const secretLooking = [...variables].filter((v) => /SECRET|KEY|TOKEN|PASSWORD/.test(v));
    expect(secretLooking).toEqual(
      expect.arrayContaining(['WARDEN_SECRET_KEYS', 'AUTH_JWT_SECRET', 'OAUTH_CLIENT_SECRET', 'METRICS_TOKEN']),
    );
    for (const name of secretLooking) {
      if (name in NOT_SECRET) continue;
      expect(isSecretField(name), `${name} is not in REDACTED_FIELDS`).toBe(true);
    }
    // Connection URLs that may carry a password are secret although their names do not say so.
    for (const name of ['DATABASE_URL', 'SMTP_URL']) expect(isSecretField(name), name).toBe(true);
    // The exceptions still exist (otherwise they would hide nothing and should go).
    for (const name of Object.keys(NOT_SECRET)) expect(variables.has(name), name).toBe(true);
  });
});
