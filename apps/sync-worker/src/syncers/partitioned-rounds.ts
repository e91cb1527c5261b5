import type { DeltaPage, GraphClient } from '@warden/graph-core';

/**
 * Many filtered delta rounds read at once (`$filter=id eq '…' or id eq '…'`, one round per chunk of
 * ids), their pages handed to one consumer.
 *
 * Why: a delta round is a chain of nextLinks, one round trip each, whatever budget is left. A full
 * groups round with members and owners inline is ~1,000 links per page, so 500,000 memberships are
 * 500 sequential pages; the same pages read as 100 rounds of 50 groups, 12 at a time, are ~55 round
 * trips long. The rounds' own deltaLinks are discarded (the pass tracks changes with the `latest`
 * link taken before it).
 *
 * Pages of one chunk reach the consumer in order, and after its last page an item with `last: true`
 * says the chunk is complete; chunks interleave.
 *
 * Chunks are not split while they are read. A large group (10,000+ members: 10+ pages) holds up the
 * other groups of its chunk, but splitting it off mid-round means reading again what the round
 * already gave (Graph promises no order within a round, so the others cannot be told apart from the
 * ones still to come). Measured at L (`npm run bench:sync -- --size L`, its Graph-only floor): split
 * off at 2,000 links in their round, 156 rounds and 692 pages (commit 1afa07a); not split, 100 rounds
 * and 557 pages whose critical path is 54 pages for one of the 12 workers — the one chunk holding all
 * three large groups is ~45 pages but starts first. A pass bound by pages ÷ rounds at once gains
 * nothing from reading more pages.
 */
export interface PartitionedRoundsOptions {
  /** Every chunk of the pass, indexed by position. */
  chunks: readonly (readonly string[])[];
  /** Indices of the chunks to read now (a resumed pass leaves out the ones done). */
  todo: number[];
  /** The first request of a round over `ids`. */
  roundPath(ids: readonly string[]): string;
  /** Rounds read at once. */
  concurrency: number;
  /** Pages held for the consumer at most (producers wait beyond it). */
  depth: number;
  signal?: AbortSignal;
  /** A chunk whose round Graph asks to restart (an expired page token, 410) is read again from its start, this many times at most. */
  maxRestarts?: number;
}

export interface PartitionedItem<T> {
  chunk: number;
  /** null on the item that only closes a chunk. */
  page: DeltaPage<T> | null;
  /** The chunk's round is complete: nothing more of it comes. */
  last: boolean;
}

const RESTARTS = 3;

/** Chunks of at most `size` ids, in the given order. */
export function planChunks(ids: readonly string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

/** `id eq 'a' or id eq 'b' …`, URL-encoded, for a delta round's `$filter`. */
export function idFilter(ids: readonly string[]): string {
  return encodeURIComponent(ids.map((id) => `id eq '${id.replace(/'/g, "''")}'`).join(' or '));
}

export class PartitionedRounds<T extends { id: string }> {
  private readonly items: PartitionedItem<T>[] = [];
  private readonly todo: number[];
  private readonly ctl = new AbortController();
  private readonly signal: AbortSignal;
  private failure: { err: unknown } | null = null;
  /** Rounds being read (each worker reads one chunk after another). */
  private running = 0;
  private wake: (() => void) | null = null;
  private readonly room: Array<() => void> = [];
  private stopped = false;
  /**
   * Rounds started (restarts included), pages read, and the most pages one worker read one after
   * another: the pass's critical path in round trips, whatever each round trip costs under load.
   */
  readonly stats = { rounds: 0, pages: 0, restarts: 0, longestWorkerPages: 0 };

  constructor(
    private readonly graph: GraphClient,
    private readonly opts: PartitionedRoundsOptions,
  ) {
    this.todo = [...opts.todo];
    this.signal = opts.signal ? AbortSignal.any([opts.signal, this.ctl.signal]) : this.ctl.signal;
    const n = Math.min(opts.concurrency, this.todo.length);
    for (let i = 0; i < n; i++) {
      this.running++;
      void this.worker().finally(() => {
        this.running--;
        this.notify();
      });
    }
  }

  /** The next item, or null once every chunk is complete. */
  async next(): Promise<PartitionedItem<T> | null> {
    for (;;) {
      if (this.failure) throw this.failure.err;
      const item = this.items.shift();
      if (item) {
        this.room.shift()?.();
        return item;
      }
      if (this.running === 0) return null;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** Stops every round; fetches in flight are aborted, not awaited. */
  stop(): void {
    this.stopped = true;
    this.ctl.abort(new Error('partitioned read stopped'));
    for (const r of this.room.splice(0)) r();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async push(item: PartitionedItem<T>): Promise<void> {
    while (this.items.length >= this.opts.depth && !this.stopped) await new Promise<void>((r) => this.room.push(r));
    if (this.stopped) return;
    this.items.push(item);
    this.notify();
  }

  private async worker(): Promise<void> {
    try {
      let pages = 0;
      for (let idx = this.todo.shift(); idx !== undefined && !this.stopped; idx = this.todo.shift()) {
        pages += await this.readChunk(idx);
        this.stats.longestWorkerPages = Math.max(this.stats.longestWorkerPages, pages);
      }
    } catch (err) {
      if (!this.stopped) this.failure ??= { err };
      this.stop();
    }
  }

  /** Reads one chunk's round to its end; returns the pages read (those of restarted attempts too). */
  private async readChunk(idx: number): Promise<number> {
    const ids = this.opts.chunks[idx]!;
    let pages = 0;
    // Restarts stay bounded: Graph resetting one round over and over is a failure.
    for (let attempt = 0; ; attempt++) {
      this.stats.rounds++;
      const gen = this.graph.delta<T>(this.opts.roundPath(ids), { signal: this.signal });
      for (;;) {
        const r = await gen.next();
        if (this.stopped) return pages;
        if (r.done) {
          if (r.value.kind === 'complete') {
            await this.push({ chunk: idx, page: null, last: true });
            return pages;
          }
          if (attempt >= (this.opts.maxRestarts ?? RESTARTS))
            throw new Error(`a filtered delta round kept asking for a resync: ${r.value.reason}`);
          this.stats.restarts++;
          break;
        }
        this.stats.pages++;
        pages++;
        await this.push({ chunk: idx, page: r.value, last: false });
      }
    }
  }
}
