import { randomBytes } from 'node:crypto';
import { startEmulator, type RunningEmulator } from '@warden/graph-emulator';
import { mintToken, startGateway, type RunningGateway } from '@warden/gateway';
import { parseEnvironment as provisionEnv, startProvisionWorker, type ProvisionWorker } from '@warden/provision-worker';
import { createTestDatabase, uniqueName, type TestDatabase } from '@warden/database/testing';
import { parseEnvironment as governanceEnv, startGovernanceWorker, type GovernanceWorker } from '@warden/governance-worker';
import { parseEnvironment as syncEnv, startSyncWorker, type SyncWorker } from '@warden/sync-worker';

/** Every real service of the product in this process: emulator, Postgres, NATS, gateway, the three workers. */
export interface System {
  emulator: RunningEmulator;
  gateway: RunningGateway;
  sync: SyncWorker;
  provision: ProvisionWorker;
  /** Timers, bus reactions and notification delivery of requests and reviews. */
  governance: GovernanceWorker;
  database: TestDatabase;
  token: string;
  /** The environment every service was started with (database, NATS namespace, keys, hosts). */
  env: Record<string, string>;
  gql<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** A development token for anyone (role MEMBER = no platform role; tid/oid link it to a synced user). */
  tokenFor(
    role: 'SUPER_ADMIN' | 'CONNECTOR_ADMIN' | 'VIEWER' | 'MEMBER',
    sub: string,
    claims?: { tid?: string; oid?: string },
  ): Promise<string>;
  /** GraphQL as `token`, errors returned rather than thrown. */
  gqlAs<T>(
    token: string,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> }>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /**
   * The deployment's multi-tenant app for OAUTH (admin-consent) connectors is the emulator's
   * `provisioning` app, on the gateway and both workers; admin consent redirects to `publicUrl`.
   */
  oauth?: { publicUrl: string };
  /**
   * Extra environment of the governance worker, e.g. NOTIFY_WEBHOOK_URL + NOTIFY_WEBHOOK_SECRET to
   * receive its notifications, or SMTP_URL + NOTIFY_EMAIL_FROM. Its loops run at least every 500 ms
   * here (GOVERNANCE_MAX_INTERVAL_MS) so timers are observable quickly.
   */
  governance?: Record<string, string>;
}

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const emulator = await startEmulator({
    size: 'S',
    seed: 5,
    port: 0,
    settings: { throttle: { enabled: true, ruPer10s: 5_000, writesPer150s: 3_000 } },
  });
  const database = await createTestDatabase('warden_e2e');
  const common = {
    DATABASE_URL: database.url,
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    BUS_NAMESPACE: uniqueName('e2e').replace(/_/g, '-'),
    WARDEN_SECRET_KEYS: `e2e:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'warn',
    ...(opts.oauth
      ? { OAUTH_CLIENT_ID: emulator.app('provisioning').clientId, OAUTH_CLIENT_SECRET: emulator.app('provisioning').clientSecret }
      : {}),
    // Every service checks connector hosts (the workers before each run and task).
    ALLOWED_GRAPH_HOSTS: `graph.microsoft.com,login.microsoftonline.com,${new URL(emulator.config.baseUrl).host}`,
  };
  const jwtSecret = randomBytes(32).toString('base64url');
  const gateway = await startGateway({
    ...common,
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_JWT_SECRET: jwtSecret,
    ...(opts.oauth ? { PUBLIC_URL: opts.oauth.publicUrl } : {}),
  });
  const sync = await startSyncWorker(syncEnv({ ...common, SCHEDULER_INTERVAL_MS: '0' }));
  const provision = await startProvisionWorker(provisionEnv({ ...common, EXPIRY_SCAN_INTERVAL_MS: '1000' }));
  const governance = await startGovernanceWorker(
    governanceEnv({ ...common, GOVERNANCE_MAX_INTERVAL_MS: '500', NOTIFY_POLL_INTERVAL_MS: '200', ...opts.governance }),
  );
  const token = await mintToken({ secret: jwtSecret, issuer: 'warden' }, { sub: 'e2e-admin', role: 'SUPER_ADMIN' });

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

  async function gqlAs<T>(as: string, query: string, variables: Record<string, unknown> = {}) {
    const r = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await r.json()) as { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  }

  return {
    emulator,
    gateway,
    sync,
    provision,
    governance,
    database,
    token,
    env: common,
    gql,
    gqlAs,
    tokenFor: (role, sub, claims = {}) => mintToken({ secret: jwtSecret, issuer: 'warden' }, { sub, role, ...claims }),
    async stop() {
      await governance.close();
      await provision.close();
      await sync.close();
      await gateway.close();
      await emulator.close();
      await database.drop();
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
