import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { requestSync } from '@warden/access-model';
import type { Bus } from '@warden/bus';
import type { Database } from '@warden/database';
import type { EmulatorApp } from '@warden/graph-emulator';
import type { SecretBox } from '@warden/service-kit';
import { insertConnector, seedFromExport } from '../../apps/provision-worker/test/support/seed';
import { Rng } from '../../tests/chaos/src/rng';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator-process';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const log = (m: string): void => void process.stderr.write(`bench:gateway | ${m}\n`);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A child process the bench started, with the pid whose /proc entry is the service itself. */
export interface Service {
  name: string;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** node (with tsx's loader where needed) running `args`; the pid is the service's own. */
export function spawnService(name: string, args: string[], env: Record<string, string>, cwd = ROOT): Service {
  const child: ChildProcess = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (code && code !== 0 && signal === null) log(`${name} exited with ${code}: ${tail.slice(-3000)}`);
  });
  return {
    name,
    pid: child.pid!,
    output: () => tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export async function waitFor(what: string, probe: () => Promise<boolean>, service?: Service, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} did not come up in ${timeoutMs / 1000} s${service ? `:\n${service.output().slice(-3000)}` : ''}`);
}

/** Waits for a sync run to end; throws unless it SUCCEEDED. Returns its duration in ms. */
export async function waitForRun(db: Kysely<Database>, runId: string, timeoutMs = 900_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const row = await db.selectFrom('sync_runs').select(['status', 'error']).where('id', '=', runId).executeTakeFirstOrThrow();
    if (row.status === 'SUCCEEDED') return Date.now() - t0;
    if (row.status !== 'QUEUED' && row.status !== 'RUNNING') throw new Error(`sync run ${runId} ${row.status}: ${row.error}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`sync run ${runId} still ${row.status} after ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** A full sync of `connectorId` by the running sync worker (queued as the product queues it). */
export async function fullSync(db: Kysely<Database>, bus: Bus, connectorId: string): Promise<number> {
  const { run } = await requestSync(db, bus, { connectorId, mode: 'FULL', requestedBy: 'bench' });
  return waitForRun(db, run.id);
}

/**
 * Warden app roles for a seeded sample of the tenant's enabled member users, assigned through Graph
 * (POST servicePrincipals/{id}/appRoleAssignedTo with the provisioning app), as an Entra admin would:
 * the emulator then puts them in the `roles` claim of those users' access tokens.
 */
export async function assignWardenRoles(
  emu: EmulatorProcess,
  rng: Rng,
  plan: { superAdmins: number; connectorAdmins: number; viewers: number; members: number },
): Promise<{ upn: string; role: string | null }[]> {
  const { baseUrl, authorityHost, tenantId } = emu.config;
  const app = emu.config.apps.find((a) => a.name === 'provisioning')!;
  const warden = emu.config.apps.find((a) => a.api)!;
  const token = await clientCredentials(authorityHost, tenantId, app);
  const graph = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${baseUrl}/v1.0${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!r.ok) throw new Error(`Graph ${method} ${route}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  // Enabled member users outside every Warden role (the emulator's own demo holders are left as they are).
  const taken = new Set(
    [...Object.values(warden.api!.roleHolders).flat(), ...warden.api!.viaGroup.flatMap((g) => g.memberUpns)].map((u) => u.toLowerCase()),
  );
  const candidates: { id: string; upn: string }[] = [];
  const managers = new Set<string>();
  let next: string | undefined = `/users?$select=id,userPrincipalName,accountEnabled,userType&$expand=manager($select=id)&$top=999`;
  for (let page = 0; next && page < 8; page++) {
    const r: {
      value: { id: string; userPrincipalName: string; accountEnabled: boolean; userType: string; manager?: { id: string } | null }[];
      '@odata.nextLink'?: string;
    } = await graph('GET', next);
    for (const u of r.value) {
      if (u.manager?.id) managers.add(u.manager.id);
      if (u.accountEnabled && u.userType === 'Member' && !taken.has(u.userPrincipalName.toLowerCase()))
        candidates.push({ id: u.id, upn: u.userPrincipalName });
    }
    next = r['@odata.nextLink']?.replace(`${baseUrl}/v1.0`, '');
  }
  // Seeded shuffle; members are drawn from people who manage someone (they have a review queue when a
  // campaign asks managers), the platform roles from everyone else.
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  const memberPool = candidates.filter((u) => managers.has(u.id));
  const chosenMembers = memberPool.slice(0, plan.members);
  const chosen = new Set(chosenMembers.map((u) => u.id));
  const users = [
    ...candidates.filter((u) => !chosen.has(u.id)).slice(0, plan.superAdmins + plan.connectorAdmins + plan.viewers),
    ...chosenMembers,
  ].map((u) => `${u.id} ${u.upn}`);
  const total = plan.superAdmins + plan.connectorAdmins + plan.viewers + plan.members;
  if (users.length < total) throw new Error(`only ${users.length} users (${memberPool.length} managers) to give ${total} tokens`);
  const roleId = (value: string) => warden.api!.appRoles.find((r) => r.value === value)!.id;
  const spId = warden.api!.servicePrincipalId;
  const out: { upn: string; role: string | null }[] = [];
  let i = 0;
  for (const [role, n] of [
    ['Warden.SuperAdmin', plan.superAdmins],
    ['Warden.ConnectorAdmin', plan.connectorAdmins],
    ['Warden.Viewer', plan.viewers],
    [null, plan.members],
  ] as const) {
    for (let k = 0; k < n; k++, i++) {
      const [id, upn] = users[i]!.split(' ') as [string, string];
      if (role)
        await graph('POST', `/servicePrincipals/${spId}/appRoleAssignedTo`, { principalId: id, resourceId: spId, appRoleId: roleId(role) });
      out.push({ upn, role });
    }
  }
  return out;
}

async function clientCredentials(authorityHost: string, tenantId: string, app: EmulatorApp): Promise<string> {
  const r = await fetch(`${authorityHost}/${tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: app.clientId,
      client_secret: app.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    }),
  });
  if (!r.ok) throw new Error(`token: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

export interface CallerToken {
  token: string;
  /** SUPER_ADMIN | CONNECTOR_ADMIN | VIEWER | MEMBER, from the token's `roles` claim as the gateway maps it. */
  role: string;
  sub: string;
  oid: string;
}

const ROLE_OF: Record<string, string> = {
  'Warden.SuperAdmin': 'SUPER_ADMIN',
  'Warden.ConnectorAdmin': 'CONNECTOR_ADMIN',
  'Warden.Viewer': 'VIEWER',
};

/**
 * A user's access token for the Warden API, the way a browser sign-in gets one: authorization code +
 * PKCE against the emulator's authorize endpoint (`prompt=none` with the login hint: the emulator asks
 * no password), then the code redeemed at the token endpoint with the Warden app's secret.
 */
export async function signIn(emu: EmulatorProcess, upn: string): Promise<CallerToken> {
  const { authorityHost, tenantId } = emu.config;
  const warden = emu.config.apps.find((a) => a.api)!;
  const redirectUri = warden.api!.redirectUris[0]!;
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    client_id: warden.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: `openid profile ${warden.api!.identifierUri}/access_as_user`,
    prompt: 'none',
    login_hint: upn,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const a = await fetch(`${authorityHost}/${tenantId}/oauth2/v2.0/authorize?${q}`, { redirect: 'manual' });
  const code = new URL(a.headers.get('location') ?? 'http://x/').searchParams.get('code');
  if (!code) throw new Error(`authorize for ${upn}: ${a.status} ${a.headers.get('location')}`);
  const t = await fetch(`${authorityHost}/${tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: warden.clientId,
      client_secret: warden.clientSecret,
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  });
  if (!t.ok) throw new Error(`token for ${upn}: ${t.status} ${await t.text()}`);
  const token = ((await t.json()) as { access_token: string }).access_token;
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { roles?: string[]; sub: string; oid: string };
  const roles = (claims.roles ?? []).map((r) => ROLE_OF[r]).filter((r): r is string => !!r);
  const role = ['SUPER_ADMIN', 'CONNECTOR_ADMIN', 'VIEWER'].find((r) => roles.includes(r)) ?? 'MEMBER';
  return { token, role, sub: claims.sub, oid: claims.oid };
}

/** Connectors seeded from other generated tenants' exports (what a full sync writes), with a run history. */
export async function seedOtherConnectors(db: Kysely<Database>, box: SecretBox, count: number, seed: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const emu = await startEmulatorProcess('S', seed + 100 + i);
    try {
      const app = emu.config.apps.find((a) => a.name === 'readonly')!;
      const id = await insertConnector(db, box, emu.config, app);
      await db
        .updateTable('connectors')
        .set({ display_name: `Subsidiary ${i + 1}` })
        .where('id', '=', id)
        .execute();
      await seedFromExport(db, id, await emu.exportTenant());
      // A month of nightly full syncs and hourly incrementals would be longer; a few rows of each are what a list shows.
      for (let k = 0; k < 6; k++) {
        await sql`INSERT INTO sync_runs (connector_id, mode, status, stats, checkpoint, queued_at, started_at, finished_at)
          VALUES (${id}, ${k % 3 === 0 ? 'FULL' : 'INCREMENTAL'}, 'SUCCEEDED', ${JSON.stringify({ users: 40 + k, groups: 20, grants: 300 })}::jsonb, '{}'::jsonb,
            now() - make_interval(hours => ${(6 - k) * 4}), now() - make_interval(hours => ${(6 - k) * 4}), now() - make_interval(hours => ${(6 - k) * 4}) + interval '3 seconds')`.execute(
          db,
        );
      }
      ids.push(id);
    } finally {
      await emu.close();
    }
  }
  return ids;
}

/** graphql@15 for the PostGraphile peer only, in .data/bench-deps (git-ignored), installed once with npm. */
export function ensureGraphql15(): string {
  const prefix = path.join(ROOT, '.data/bench-deps');
  const dir = path.join(prefix, 'node_modules/graphql');
  const pkg = path.join(dir, 'package.json');
  const ok = () => existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version.startsWith('15.');
  if (!ok()) {
    log('installing graphql@15 for PostGraphile v4 into .data/bench-deps …');
    mkdirSync(prefix, { recursive: true });
    const r = spawnSync(
      'flock',
      [
        '/tmp/warden-npm.lock',
        'npm',
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        'graphql@15.10.1',
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0 || !ok()) throw new Error('could not install graphql@15 for the PostGraphile peer');
  }
  return dir;
}
