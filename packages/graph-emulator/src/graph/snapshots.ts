import { randomBytes } from 'node:crypto';
import { GraphError, badRequest } from '../http/errors';

interface Held {
  items: readonly unknown[];
  lastUsed: number;
}

interface PageTokenBody {
  /** snapshot id */
  s: number;
  /** offset */
  o: number;
  /** issued at, epoch seconds */
  t: number;
  /** server instance, so tokens from another run are recognised as stale */
  i: string;
}

export const expiredPageToken = (): GraphError =>
  new GraphError(
    400,
    'Directory_ExpiredPageToken',
    'The specified page token value has expired and can no longer be included in your request.',
  );

/**
 * Page tokens point at a frozen list snapshot held server-side, so a crawl sees a consistent
 * collection even while writes go on. Snapshots are shared (one per list version) and evicted after
 * the page-token TTL.
 */
export class SnapshotRegistry {
  private readonly held = new Map<number, Held>();
  private readonly ids = new WeakMap<object, number>();
  private next = 1;
  private readonly instance = randomBytes(4).toString('hex');

  constructor(private readonly ttlSeconds: () => number) {}

  private register(items: readonly unknown[]): number {
    let id = this.ids.get(items);
    const now = Date.now();
    if (id === undefined || !this.held.has(id)) {
      id = this.next++;
      this.ids.set(items, id);
      this.held.set(id, { items, lastUsed: now });
      if (this.held.size % 64 === 0) this.sweep();
    } else {
      (this.held.get(id) as Held).lastUsed = now;
    }
    return id;
  }

  sweep(): void {
    const cutoff = Date.now() - this.ttlSeconds() * 1000;
    for (const [id, h] of this.held) if (h.lastUsed < cutoff) this.held.delete(id);
    // Keep memory bounded even with a long TTL.
    if (this.held.size > 5_000) {
      const sorted = [...this.held.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
      for (const [id] of sorted.slice(0, this.held.size - 5_000)) this.held.delete(id);
    }
  }

  token(items: readonly unknown[], offset: number): string {
    const body: PageTokenBody = { s: this.register(items), o: offset, t: Math.floor(Date.now() / 1000), i: this.instance };
    return `X'${Buffer.from(JSON.stringify(body)).toString('base64url')}'`;
  }

  resolve<T>(token: string): { items: readonly T[]; offset: number } {
    let body: PageTokenBody;
    try {
      const inner = token.startsWith("X'") && token.endsWith("'") ? token.slice(2, -1) : token;
      body = JSON.parse(Buffer.from(inner, 'base64url').toString('utf8')) as PageTokenBody;
    } catch {
      throw badRequest('Invalid page token.', 'Directory_ExpiredPageToken');
    }
    if (typeof body.s !== 'number' || typeof body.o !== 'number' || typeof body.t !== 'number') throw expiredPageToken();
    if (body.i !== this.instance) throw expiredPageToken();
    if (Date.now() / 1000 - body.t > this.ttlSeconds()) throw expiredPageToken();
    const h = this.held.get(body.s);
    if (!h) throw expiredPageToken();
    h.lastUsed = Date.now();
    return { items: h.items as readonly T[], offset: body.o };
  }
}
