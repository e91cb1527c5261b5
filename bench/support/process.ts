import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { ensureCa } from '@warden/graph-emulator';
import { TEST_NATS_URL } from '@warden/bus/testing';

/**
 * Node reads NODE_EXTRA_CA_CERTS only when it starts: unless it already points at the emulator's CA,
 * run this same script again with it and exit with that run's status. Returns the CA's path.
 */
export async function rerunWithEmulatorCa(): Promise<string> {
  const { caCertPath } = await ensureCa();
  if (process.env.NODE_EXTRA_CA_CERTS !== caCertPath) {
    const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath },
    });
    process.exit(r.status ?? 1);
  }
  return caCertPath;
}

/**
 * Ports free on 127.0.0.1 right now, each asked of the kernel (listen on port 0), so a bench's servers
 * never pick one another service of the machine holds (a fixed range once met Redis's 6379).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** The p-th percentile (nearest rank) of an ascending list; 0 for an empty one. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** What every service process of a bench shares: its database, bus namespace, secret keys and the emulators it may call. */
export function serviceEnv(o: {
  databaseUrl: string;
  busNamespace: string;
  secretKeys: string;
  graphBaseUrls: readonly string[];
}): Record<string, string> {
  return {
    DATABASE_URL: o.databaseUrl,
    NATS_URL: TEST_NATS_URL,
    BUS_NAMESPACE: o.busNamespace,
    WARDEN_SECRET_KEYS: o.secretKeys,
    LOG_LEVEL: 'warn',
    ALLOWED_GRAPH_HOSTS: o.graphBaseUrls.map((u) => new URL(u).host).join(','),
  };
}
