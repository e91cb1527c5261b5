import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DATA_DIR } from './data-dir';
import { spawnService, type Service } from './processes';

export interface NatsHandle {
  url: string;
  service: Service | null;
}

const LOCAL_PORT = Number(process.env.LOCAL_NATS_PORT ?? 4222);

/**
 * NATS_URL when set; else a server already answering on 127.0.0.1:4222; else a nats-server process of
 * our own with JetStream and its data under .data/nats (if the binary is installed).
 */
export async function startNats(log: (m: string) => void): Promise<NatsHandle> {
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, service: null };
  const url = `nats://127.0.0.1:${LOCAL_PORT}`;
  if (await answers('127.0.0.1', LOCAL_PORT)) return { url, service: null };
  const bin = findNatsServer();
  if (!bin) {
    throw new Error(
      'No NATS server: set NATS_URL, or install nats-server (Debian/Ubuntu: `apt install nats-server`; ' +
        'macOS: `brew install nats-server`; or https://github.com/nats-io/nats-server/releases) and run npm start again.',
    );
  }
  const storeDir = path.join(DATA_DIR, 'nats');
  mkdirSync(storeDir, { recursive: true });
  log(`starting ${bin} with JetStream (data in ${storeDir})`);
  const service = spawnService('nats', bin, ['-a', '127.0.0.1', '-p', String(LOCAL_PORT), '-js', '-sd', storeDir], {});
  for (let i = 0; i < 50; i++) {
    if (await answers('127.0.0.1', LOCAL_PORT)) return { url, service };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nats-server did not start listening on port ${LOCAL_PORT}`);
}

function findNatsServer(): string | null {
  for (const candidate of ['nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server']) {
    const r = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return null;
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}
