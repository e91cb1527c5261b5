import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../src/bus';
import type { SyncRequested } from '../src/contracts';

// A NATS server of this test's own (the shared one on 4222 must never restart under other suites).
const NATS_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let nats: ChildProcess | undefined;
let dirs: string[] = [];
let bus: Bus | undefined;
afterEach(async () => {
  await bus?.close();
  nats?.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  bus = undefined;
  nats = undefined;
  dirs = [];
});

function startNats(port: number, jetstream = true): ChildProcess {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-bus-nats-'));
  dirs.push(dir);
  return spawn(NATS_BIN, ['-a', '127.0.0.1', '-p', String(port), ...(jetstream ? ['-js', '-sd', dir] : [])], { stdio: 'ignore' });
}

describe('bus across a NATS restart', () => {
  it('is not ready while NATS is away, and recreates its streams when NATS comes back without its data', async () => {
    const port = await freePort();
    nats = startNats(port);
    const url = `nats://127.0.0.1:${port}`;
    await until(async () => {
      try {
        bus = await Bus.connect({ url, namespace: 'restart', ackWaitMs: 2_000 });
        return true;
      } catch {
        return false;
      }
    }, 'nats-server to start');
    const b = bus!;
    expect(b.isConnected()).toBe(true);

    nats.kill('SIGKILL');
    await until(() => !b.isConnected(), 'the bus to notice NATS is gone');

    // Back with an empty store: no streams, no consumers.
    nats = startNats(port);
    await until(() => b.isConnected(), 'the bus to reconnect');
    const runId = randomUUID();
    await until(async () => {
      try {
        await b.publishSyncRequested({ v: 1, runId, connectorId: randomUUID(), mode: 'FULL' });
        return true;
      } catch {
        return false;
      }
    }, 'a publish to be stored');
    const ac = new AbortController();
    const seen: SyncRequested[] = [];
    await b.consumeSyncRequested(
      async (m) => {
        seen.push(m);
        ac.abort();
      },
      { signal: ac.signal },
    );
    expect(seen.map((m) => m.runId)).toEqual([runId]);
  }, 60_000);

  it('notices NATS going away again while it is still re-creating its streams after a reconnect', async () => {
    // Regression (chaos suite, two NATS restarts in a row): the status loop awaited the topology
    // re-creation, so a disconnect during it was not seen until the JetStream calls timed out, and
    // /readyz said ready while NATS was down. Here the JetStream API after the reconnect never
    // answers (a server without JetStream, and a subscriber that swallows the API requests).
    const port = await freePort();
    nats = startNats(port);
    const url = `nats://127.0.0.1:${port}`;
    await until(async () => {
      try {
        bus = await Bus.connect({ url, namespace: 'restart2', ackWaitMs: 2_000 });
        return true;
      } catch {
        return false;
      }
    }, 'nats-server to start');
    const b = bus!;
    nats.kill('SIGKILL');
    await until(() => !b.isConnected(), 'the bus to notice NATS is gone');

    nats = startNats(port, false);
    let silent: Awaited<ReturnType<typeof connect>> | undefined;
    await until(async () => {
      try {
        silent = await connect({ servers: url, reconnect: false });
        return true;
      } catch {
        return false;
      }
    }, 'the JetStream-less nats-server to start');
    let swallowed = 0;
    silent!.subscribe('$JS.API.>', {
      callback: () => {
        swallowed++;
      },
    });
    await silent!.flush();
    await until(() => b.isConnected() && swallowed > 0, 'the bus to reconnect and ask for its streams');
    nats.kill('SIGKILL');
    // Well inside the JetStream API's 5 s request timeout that the old loop waited out.
    await until(() => !b.isConnected(), 'the bus to notice NATS is gone again', 3_000);
    await silent!.close().catch(() => undefined);
  }, 60_000);
});
