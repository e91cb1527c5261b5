import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KNOWN_DEVELOPMENT_SECRETS, commonEnvironment, metricsEnvironment, parseEnvironmentWith } from '../src/environment';
import { HostAllowlist, HostNotAllowedError } from '../src/host-allowlist';

const schema = z.object({ ...commonEnvironment, PORT: z.coerce.number().int().default(4000) });

describe('environment', () => {
  it('applies defaults', () => {
    const env = parseEnvironmentWith(schema, 'test-app', {
      DATABASE_URL: 'postgres://x',
      WARDEN_SECRET_KEYS: `k:${Buffer.alloc(32).toString('base64')}`,
    });
    expect(env.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(env.PORT).toBe(4000);
  });

  it('serves metrics on loopback unless told otherwise (a worker outside a container exposes nothing)', () => {
    const withMetrics = z.object({ ...commonEnvironment, ...metricsEnvironment });
    const env = parseEnvironmentWith(withMetrics, 'test-app', {
      DATABASE_URL: 'postgres://x',
      WARDEN_SECRET_KEYS: `k:${Buffer.alloc(32).toString('base64')}`,
      METRICS_PORT: '9464',
    });
    expect(env.METRICS_HOST).toBe('127.0.0.1');
  });

  it('names every bad variable in one message', () => {
    expect(() => parseEnvironmentWith(schema, 'test-app', { WARDEN_SECRET_KEYS: 'k:short', PORT: 'x', LOG_LEVEL: 'loud' })).toThrow(
      /invalid test-app environment:[\s\S]*DATABASE_URL[\s\S]*LOG_LEVEL[\s\S]*WARDEN_SECRET_KEYS[\s\S]*PORT/,
    );
  });

  it('with NODE_ENV=production refuses the published development key and weak keys, and says which', () => {
    const published = `k1:${KNOWN_DEVELOPMENT_SECRETS.WARDEN_SECRET_KEYS[0]}`;
    const base = { DATABASE_URL: 'postgres://x', NODE_ENV: 'production' };
    expect(() => parseEnvironmentWith(schema, 'test-app', { ...base, WARDEN_SECRET_KEYS: published })).toThrow(
      /WARDEN_SECRET_KEYS: key 'k1' is a published development key/,
    );
    // Renaming the key id does not help; a second, good key does not hide the bad one.
    const good = `k2:${Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64')}`;
    expect(() =>
      parseEnvironmentWith(schema, 'test-app', {
        ...base,
        WARDEN_SECRET_KEYS: `${good},other:${KNOWN_DEVELOPMENT_SECRETS.WARDEN_SECRET_KEYS[0]}`,
      }),
    ).toThrow(/key 'other' is a published development key/);
    // 32 zero bytes pass the shape check but are not a key.
    expect(() =>
      parseEnvironmentWith(schema, 'test-app', { ...base, WARDEN_SECRET_KEYS: `k:${Buffer.alloc(32).toString('base64')}` }),
    ).toThrow(/too short or too simple for production/);
    expect(parseEnvironmentWith(schema, 'test-app', { ...base, WARDEN_SECRET_KEYS: good }).DATABASE_URL).toBe('postgres://x');
    // Outside production the same values are accepted (tests and npm start use generated keys anyway).
    expect(parseEnvironmentWith(schema, 'test-app', { DATABASE_URL: 'postgres://x', WARDEN_SECRET_KEYS: published }).DATABASE_URL).toBe(
      'postgres://x',
    );
  });

  it('one host allowlist: host, host:port and https origins; ports must match; paths and http refused', () => {
    const list = new HostAllowlist('graph.microsoft.com, localhost:8443,https://login.microsoftonline.com');
    expect(list.check('graphBaseUrl', 'https://graph.microsoft.com/')).toBe('https://graph.microsoft.com');
    expect(list.check('graphBaseUrl', 'https://localhost:8443')).toBe('https://localhost:8443');
    expect(() => list.check('graphBaseUrl', 'https://localhost:9999')).toThrow(HostNotAllowedError);
    expect(() => list.check('graphBaseUrl', 'https://graph.microsoft.com:8443')).toThrow(/not in this deployment's ALLOWED_GRAPH_HOSTS/);
    expect(() => list.check('graphBaseUrl', 'http://graph.microsoft.com')).toThrow(/must use https/);
    expect(() => list.check('graphBaseUrl', 'https://graph.microsoft.com/v1.0')).toThrow(/must be an origin/);
    expect(
      list.refusalFor({ graph_base_url: 'https://graph.microsoft.com', authority_host: 'https://login.microsoftonline.com' }),
    ).toBeNull();
    expect(list.refusalFor({ graph_base_url: 'https://evil.example', authority_host: 'https://login.microsoftonline.com' })).toMatch(
      /graphBaseUrl https:\/\/evil\.example.*not in this deployment's ALLOWED_GRAPH_HOSTS/,
    );
    // The same rule for endpoints not stored yet (the gateway's credential probe): the first refused one.
    expect(
      list.refusedEndpoint({ graphBaseUrl: 'https://graph.microsoft.com', authorityHost: 'https://login.microsoftonline.com' }),
    ).toBeNull();
    const refused = list.refusedEndpoint({
      graphBaseUrl: 'https://graph.microsoft.com',
      authorityHost: 'http://login.microsoftonline.com',
    });
    expect(refused).toMatchObject({ field: 'authorityHost', value: 'http://login.microsoftonline.com' });
    expect(refused?.error).toBeInstanceOf(HostNotAllowedError);
    expect(refused?.error.message).toMatch(/authorityHost must use https/);
  });
});
