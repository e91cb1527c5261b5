import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Stops forwarding in both directions without closing anything: a network path gone silent. */
  stall(): void;
  /** Delays what the server sends (kept in order) until release(): notifications still in flight. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy, so a test can make a live connection go quiet the way a broken path does. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let stalled = false;
  let held: Array<() => void> | null = null;
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const forward = (from: Socket, to: Socket, holdable: boolean) =>
      from.on('data', (chunk) => {
        if (stalled) return;
        if (holdable && held) held.push(() => to.write(chunk));
        else to.write(chunk);
      });
    forward(client, upstream, false);
    forward(upstream, client, true);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => {
      stalled = true;
    },
    hold: () => {
      held ??= [];
    },
    release: () => {
      const pending = held ?? [];
      held = null;
      for (const write of pending) write();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
