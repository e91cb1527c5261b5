import net from 'node:net';

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
  toUpstream: Buffer[];
  toClient: Buffer[];
}

function flush(p: Pair): void {
  if (!p.upstream) return;
  for (const b of p.toUpstream.splice(0)) p.upstream.write(b);
  for (const b of p.toClient.splice(0)) p.client.write(b);
}

/**
 * A TCP proxy in front of Postgres or the Graph emulator. `stall()` stops forwarding in both
 * directions without closing anything — no FIN, no RST — the way a dead middlebox or a partition
 * looks to a client; new connections are accepted and left waiting. `resume()` lets it all through.
 */
export class StallingProxy {
  private server: net.Server;
  private stalled = false;
  private readonly pairs = new Set<Pair>();
  private readonly waiting: Array<() => void> = [];
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: () => number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private accept(client: net.Socket): void {
    const pair: Pair = { client, upstream: null, toUpstream: [], toClient: [] };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    // Bytes are forwarded by hand (not pipe(), whose drain handling resumes a paused socket): while
    // stalled they are held here and nothing is written either way.
    client.on('data', (b: Buffer) => {
      if (this.stalled || !pair.upstream) pair.toUpstream.push(b);
      else pair.upstream.write(b);
    });
    client.on('close', () => {
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    });
    const connect = () => {
      if (client.destroyed) return;
      const upstream = net.connect({ host: this.targetHost, port: this.targetPort() });
      pair.upstream = upstream;
      upstream.on('error', () => client.destroy());
      upstream.on('data', (b: Buffer) => {
        if (this.stalled) pair.toClient.push(b);
        else client.write(b);
      });
      upstream.on('close', () => {
        client.destroy();
        this.pairs.delete(pair);
      });
      if (!this.stalled) flush(pair);
    };
    if (this.stalled) this.waiting.push(connect);
    else connect();
  }

  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    for (const p of this.pairs) flush(p);
    for (const connect of this.waiting.splice(0)) connect();
  }

  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.resume();
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
