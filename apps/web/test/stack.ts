/**
 * The real system for the browser tests, in one process started by global-setup.ts (tsx, so the
 * gateway's decorators compile as in `npm start`): the Graph emulator as tenant and OpenID Connect
 * provider, PostgreSQL (a database of its own), NATS (a namespace of its own), the gateway serving
 * the built console (apps/web/dist) with browser sign-in, and both workers. A demo connector with the
 * emulator's provisioning app is created and fully synced first. Prints one JSON line when ready;
 * SIGTERM stops everything and drops the database.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, uniqueName } from '@warden/database/testing';
import { mintToken, startGateway } from '@warden/gateway';
import { startEmulator } from '@warden/graph-emulator';
import { parseEnvironment as governanceEnv, startGovernanceWorker } from '@warden/governance-worker';
import { parseEnvironment as provisionEnv, startProvisionWorker } from '@warden/provision-worker';
import { parseEnvironment as syncEnv, startSyncWorker } from '@warden/sync-worker';
import type { StackInfo } from './stack-info';

export const SCALE_ROWS = 10_000;
export const SCALE_ACTOR = 'load-test';

const here = path.dirname(fileURLToPath(import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function main(): Promise<void> {
  const seed = Number(process.env['TEST_SEED'] ?? 7);
  process.stderr.write(`web stack: emulator seed ${seed} (TEST_SEED)\n`);
  const port = await freePort();
  const publicUrl = `http://localhost:${port}`;
  const emulator = await startEmulator({ size: 'S', seed, port: 0, wardenRedirectUris: [`${publicUrl}/auth/callback`] });
  const database = await createTestDatabase('warden_web');
  const common = {
    DATABASE_URL: database.url,
    NATS_URL: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
    BUS_NAMESPACE: uniqueName('web').replace(/_/g, '-'),
    WARDEN_SECRET_KEYS: `web:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'warn',
    ALLOWED_GRAPH_HOSTS: `graph.microsoft.com,login.microsoftonline.com,${new URL(emulator.config.baseUrl).host}`,
  };
  const jwtSecret = randomBytes(32).toString('base64url');
  const warden = emulator.app('warden');
  const gateway = await startGateway({
    ...common,
    PORT: String(port),
    HOST: '127.0.0.1',
    AUTH_JWT_SECRET: jwtSecret,
    AUTH_DEV_TOKENS: 'true',
    OIDC_ISSUER: `${emulator.config.baseUrl}/${emulator.config.tenantId}/v2.0`,
    OIDC_CLIENT_ID: warden.clientId,
    OIDC_CLIENT_SECRET: warden.clientSecret,
    PUBLIC_URL: publicUrl,
    CONSOLE_DIR: path.resolve(here, '../dist'),
  });
  const sync = await startSyncWorker(syncEnv({ ...common, SCHEDULER_INTERVAL_MS: '0' }));
  const provision = await startProvisionWorker(provisionEnv({ ...common, EXPIRY_SCAN_INTERVAL_MS: '1000' }));
  const governance = await startGovernanceWorker(
    governanceEnv({ ...common, GOVERNANCE_MAX_INTERVAL_MS: '500', NOTIFY_POLL_INTERVAL_MS: '200' }),
  );
  const token = await mintToken({ secret: jwtSecret, issuer: 'warden' }, { sub: 'web-test-admin', role: 'SUPER_ADMIN' });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await governance.close().catch(() => undefined);
    await provision.close().catch(() => undefined);
    await sync.close().catch(() => undefined);
    await gateway.close().catch(() => undefined);
    await emulator.close().catch(() => undefined);
    await database.drop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // The parent (Playwright) going away must not leave this process behind.
  process.stdin.on('end', () => void stop());
  process.stdin.resume();

  async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const r = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await r.json()) as { data?: T; errors?: Array<{ message: string }> };
    if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors ?? body)}`);
    return body.data;
  }

  const provisioning = emulator.app('provisioning');
  const readonly = emulator.app('readonly');
  const created = await gql<{ createConnector: { id: string } }>(
    'mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }',
    {
      input: {
        displayName: 'Demo tenant',
        authMethod: 'CLIENT_SECRET',
        tenantId: emulator.config.tenantId,
        clientId: provisioning.clientId,
        clientSecret: provisioning.clientSecret,
        graphBaseUrl: emulator.config.baseUrl,
        authorityHost: emulator.config.authorityHost,
      },
    },
  );
  const connectorId = created.createConnector.id;
  const run = await gql<{ triggerSync: { id: string } }>('mutation($id: ID!) { triggerSync(connectorId: $id, mode: FULL) { id } }', {
    id: connectorId,
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = await gql<{ syncRun: { status: string; error: string | null } }>('query($id: ID!) { syncRun(id: $id) { status error } }', {
      id: run.triggerSync.id,
    });
    if (s.syncRun.status === 'SUCCEEDED') break;
    if (s.syncRun.status === 'FAILED' || Date.now() > deadline)
      throw new Error(`demo sync did not succeed: ${s.syncRun.status} ${s.syncRun.error ?? ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  // 10,000 audit rows of one actor: the long list the scale test scrolls through.
  for (let start = 0; start < SCALE_ROWS; start += 2_000) {
    const batch = Array.from({ length: Math.min(2_000, SCALE_ROWS - start) }, (_, i) => ({
      actor: SCALE_ACTOR,
      action: 'load.row',
      details: JSON.stringify({ row: start + i }),
    }));
    await database.db.insertInto('audit_events').values(batch).execute();
  }

  const admin = warden.api!.roleHolders['Warden.SuperAdmin']![0]!;
  // A member holds no Warden app role, directly or through a group (the export's member lists are complete).
  const tenant = emulator.exportTenant();
  const direct = new Set(
    Object.values(warden.api!.roleHolders)
      .flat()
      .map((u) => u.toLowerCase()),
  );
  const roleGroups = new Set(warden.api!.viaGroup.map((g) => g.groupId));
  const viaGroup = new Set(tenant.groups.filter((g) => roleGroups.has(g.id)).flatMap((g) => g.members));
  type User = { id: string; userPrincipalName?: string; accountEnabled?: boolean; userType?: string; managerId?: string | null };
  const users = tenant.users.map((u) => u as User);
  const byId = new Map(users.map((u) => [u.id, u]));
  const isMember = (u: User | undefined) =>
    !!u &&
    u.accountEnabled === true &&
    u.userType === 'Member' &&
    !!u.userPrincipalName &&
    !direct.has(u.userPrincipalName.toLowerCase()) &&
    !viaGroup.has(u.id);
  // The member of the scenarios has a manager who can sign in (and approve its requests).
  const memberUser = users.find(
    (u) => isMember(u) && u.managerId && byId.get(u.managerId)?.accountEnabled === true && byId.get(u.managerId)?.userPrincipalName,
  )!;
  const member = memberUser.userPrincipalName!;
  const manager = byId.get(memberUser.managerId!)!.userPrincipalName!;

  // Requests: every entitlement of the demo connector is requestable with the principal's manager's approval.
  await gql('mutation($input: AccessPolicyInput!) { setAccessPolicy(input: $input) { id } }', {
    input: { connectorId, requestable: true, steps: [{ kind: 'MANAGER', subjects: ['web-test-admin'] }], maxDurationSeconds: 604_800 },
  });

  const info: StackInfo = {
    url: publicUrl,
    seed,
    token,
    connectorId,
    admin,
    member,
    manager,
    emulator: { baseUrl: emulator.config.baseUrl, authorityHost: emulator.config.authorityHost, tenantId: emulator.config.tenantId },
    apps: {
      readonly: { clientId: readonly.clientId, clientSecret: readonly.clientSecret },
      provisioning: { clientId: provisioning.clientId, clientSecret: provisioning.clientSecret },
    },
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`web stack failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
