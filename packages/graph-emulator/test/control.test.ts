import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorConfig, RunningEmulator } from '../src/index';
import { getToken, graph, start } from './helpers';

describe('control API', () => {
  let emu: RunningEmulator;
  const ctl = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${emu.config.baseUrl}/_emulator${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  beforeAll(async () => {
    emu = await start({ seed: 11 });
  });
  afterAll(() => emu.close());

  it('GET /config returns the start-line JSON', async () => {
    const r = await ctl('GET', '/config');
    expect(r.body).toEqual(JSON.parse(JSON.stringify(emu.config)));
    expect((r.body as unknown as EmulatorConfig).apps.map((a) => a.name)).toEqual(['provisioning', 'readonly', 'unconsented', 'warden']);
  });

  it('GET /export lists every object kind in Graph property names', async () => {
    const r = await ctl('GET', '/export');
    for (const k of [
      'users',
      'groups',
      'servicePrincipals',
      'appRoleAssignments',
      'roleDefinitions',
      'roleAssignments',
      'roleEligibilitySchedules',
      'devices',
      'orgContacts',
      'directoryRoles',
      'servicePrincipalOwners',
    ]) {
      expect(Array.isArray(r.body[k]), k).toBe(true);
    }
    const sp = (r.body['servicePrincipals'] as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(sp).toHaveProperty('appRoles');
    expect(sp).toHaveProperty('servicePrincipalType');
    expect(Array.isArray(sp['owners'])).toBe(true);
  });

  it('PUT /settings updates and validates settings', async () => {
    const r = await ctl('PUT', '/settings', { latencyMs: 5, throttle: { ruPer10s: 1234 } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ latencyMs: 5, throttle: { enabled: true, ruPer10s: 1234, writesPer150s: 3000 } });
    expect((await ctl('GET', '/settings')).body).toEqual(r.body);
    expect((await ctl('PUT', '/settings', { faultRate: 3 })).status).toBe(400);
    await ctl('PUT', '/settings', { latencyMs: 0, throttle: { ruPer10s: 5000 } });
  });

  it('POST /mutate applies realistic changes visible in the export', async () => {
    const before = emu.exportTenant();
    const r = await ctl('POST', '/mutate', { count: 50, seed: 3 });
    const changes = r.body['changes'] as { kind: string; objectId: string }[];
    expect(changes).toHaveLength(50);
    expect(new Set(changes.map((c) => c.kind)).size).toBeGreaterThan(5);
    const after = emu.exportTenant();
    expect(after).not.toEqual(before);
    for (const c of changes.filter((x) => x.kind === 'userCreated')) {
      if (!changes.some((d) => d.kind === 'userDeleted' && d.objectId === c.objectId))
        expect(after.users.some((u) => u['id'] === c.objectId)).toBe(true);
    }
  });

  it('POST /reset returns to the generated tenant', async () => {
    const fresh = await start({ seed: 11 });
    try {
      expect((await ctl('POST', '/reset')).status).toBe(200);
      expect(emu.exportTenant()).toEqual(fresh.exportTenant());
    } finally {
      await fresh.close();
    }
  });

  it('GET /stats counts requests by route and status, RU and writes; POST /stats/reset clears them', async () => {
    await ctl('POST', '/stats/reset');
    const t = await getToken(emu);
    await graph(emu, t, '/users');
    await graph(emu, t, '/users/nope');
    const s = (await ctl('GET', '/stats')).body as {
      byRoute: Record<string, Record<string, number>>;
      ruSpent: number;
      tokensIssued: number;
      requests: number;
    };
    expect(s.byRoute['GET /users']?.['200']).toBe(1);
    expect(s.byRoute['GET /users/{id}']?.['404']).toBe(1);
    expect(s.ruSpent).toBe(3);
    expect(s.tokensIssued).toBe(1);
    const cleared = (await ctl('POST', '/stats/reset')).body as { requests: number };
    expect(cleared.requests).toBe(0);
  });

  it('injects latency and 503/504 faults', async () => {
    const t = await getToken(emu);
    emu.updateSettings({ faultRate: 1 });
    const f = await graph(emu, t, '/users');
    expect([503, 504]).toContain(f.status);
    expect(f.headers.get('retry-after')).toBe('1');
    emu.updateSettings({ faultRate: 0, latencyMs: 150 });
    const t0 = Date.now();
    expect((await graph(emu, t, '/users?$top=1')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    emu.updateSettings({ latencyMs: 0 });
  });
});

describe('CLI', () => {
  it('prints exactly one JSON config line and exits cleanly on SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../bin/graph-emulator.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, '--size', 'S', '--seed', '5', '--users', '30', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0] as string);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${String(code)}`)));
    });
    const cfg = JSON.parse(line) as EmulatorConfig;
    expect(Object.keys(cfg)).toEqual(['baseUrl', 'authorityHost', 'tenantId', 'caCertPath', 'apps']);
    const users = await fetch(`${cfg.baseUrl}/_emulator/export`).then((r) => r.json() as Promise<{ users: unknown[] }>);
    expect(users.users).toHaveLength(30);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
  }, 30_000);
});

describe('public host', () => {
  it('builds its URLs and certificate for the host name clients use (e.g. a compose service)', async () => {
    const { startEmulator } = await import('../src');
    const emu = await startEmulator({ size: 'S', port: 0, publicHost: 'graph-emulator' });
    try {
      expect(emu.config.baseUrl).toMatch(/^https:\/\/graph-emulator:\d+$/);
      // The certificate must cover the public host: connect to 127.0.0.1 but verify as graph-emulator.
      const tls = await import('node:tls');
      const port = Number(new URL(emu.config.baseUrl).port);
      const verified = await new Promise<boolean>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port, servername: 'graph-emulator' }, () => {
          resolve(s.authorized);
          s.end();
        });
        s.once('error', () => resolve(false));
      });
      expect(verified).toBe(true);
    } finally {
      await emu.close();
    }
  });
});
