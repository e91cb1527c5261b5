import type { DeltaOutcome, DeltaPage } from '@warden/graph-core';
import { PendingDeletions, type DeltaStream, type StageCheckpoint } from '../runs/checkpoint';
import { fmt } from '../runs/progress';
import type { RunSession } from '../runs/session';
import { WriteBuffer } from '../writers/buffer';
import { upsertDirectGrants } from '../writers/grants';
import { PartitionedRounds, planChunks } from './partitioned-rounds';
import { verifiedGuard } from './verify-additions';

/** Closure roots beyond this many make the finishing step recompute the whole closure instead. */
const MAX_ROOTS = 20_000;
/** Pages fetched ahead of the writes. */
const PREFETCH_PAGES = 8;
/**
 * Batches of a full pass written at once, each its own Postgres backend: one merge keeps one core
 * busy, and a full pass is bound by the database, not by Graph. Incremental passes write in order.
 */
const WRITERS = 2;

export interface PassState {
  /** This pass is a complete enumeration. */
  full: boolean;
  /** Database time the pass started; removals are "observed" then (a round is a snapshot from its start). */
  startedAt: string;
  pending: PendingDeletions;
  roots: Set<string>;
  counters: Record<string, number>;
  /** Ids this pass wrote (or buffered) with their properties; used by links-only changes. */
  seen: Set<string>;
}

export interface DeltaStreamSpec<T extends { id: string }> {
  stream: DeltaStream;
  /** The first request of a full round, e.g. '/v1.0/users/delta?$select=…'. */
  initialPath: string;
  /**
   * For streams without links (users, service principals): a full pass lists the collection
   * ('/v1.0/users?$select=…', 999 per page) after taking a "changes from now" deltaLink
   * (`$deltatoken=latest`) instead of walking a full delta round of ~100 objects per page. Changes
   * made while the list is read come again in the next round; applying them twice is harmless.
   */
  listPath?: string;
  /**
   * For streams with links (groups): a full pass takes the `latest` deltaLink (with `initialPath`'s
   * `$select`, so it tracks the links too) first, lists the ids, and reads them as filtered delta
   * rounds over chunks of ids, several at once (`partitioned-rounds.ts`), instead of one round whose
   * pages form a single chain. Changes made while the pass reads come again in the next round.
   */
  partitioned?: {
    /** Every id the pass reads; objects it leaves out (skipped by a connector setting) it counts itself. */
    listIds(pass: PassState): Promise<string[]>;
    /** The first request of a filtered round over `ids` (at most `chunkSize`). */
    roundPath(ids: readonly string[]): string;
    chunkSize: number;
    concurrency: number;
  };
  /**
   * In an incremental pass, a page that arrives while the previous page's rows are being written
   * waits in the buffer and goes with the next write (batches stay one at a time, in page order, and
   * a later page's version of a row wins within a batch). Only for streams whose `apply` reads
   * nothing an earlier page of the pass wrote: groups find this pass's groups in `pass.seen`. At L
   * the groups stage wrote its 5 pages one after another; coalesced, the pages that come during a
   * write cost no round trips of their own.
   */
  coalescePages?: boolean;
  /** Label in progress lines and logs. */
  label: string;
  /** Turns one page into rows (added to `out`) and pending deletions; must be idempotent. */
  apply(page: DeltaPage<T>, pass: PassState, out: WriteBuffer): Promise<void>;
  /** Objects in the tenant (for "n / total" progress in full passes); null when unknown. */
  count?(): Promise<number | null>;
  /**
   * Clears this run's marks from the stream's rows. A full pass that has to start over must not
   * count what its abandoned first attempt saw, or objects deleted in between would never be swept.
   */
  unmark(): Promise<void>;
}

/**
 * Drives one delta stream through a run: resumes from the checkpoint's nextLink, or starts from the
 * stored deltaLink (incremental) or from scratch (full, or no usable link). Pages are fetched ahead
 * of the writes; rows are written in batches of a few thousand, and the checkpoint (nextLink,
 * pending deletions, closure roots) follows each batch. 'resync' (expired or reset delta state)
 * restarts as a full pass by itself.
 */
export async function runDeltaStream<T extends { id: string }>(s: RunSession, spec: DeltaStreamSpec<T>): Promise<void> {
  let cp = s.stage(spec.stream);
  if (cp?.state === 'done' || cp?.state === 'skipped') return;
  if (!(cp?.state === 'running' && (cp.resumeFrom || ((cp.listing || cp.partitioned) && cp.deltaLink)))) {
    const saved = s.mode === 'INCREMENTAL' ? s.savedDeltaLink(spec.stream) : null;
    if (saved === null && s.mode === 'INCREMENTAL') await s.log('INFO', `${spec.label}: no delta state yet, reading everything`);
    cp = await freshPass(s, spec, saved, cp);
  }
  const pass: PassState = {
    full: cp.full,
    startedAt: cp.startedAt ?? (await s.dbNow()),
    pending: PendingDeletions.from(cp.pending),
    roots: new Set(cp.roots ?? []),
    counters: { ...(cp.counters ?? {}) },
    seen: new Set(),
  };

  for (;;) {
    const outcome = cp.partitioned ? await consumePartitioned(s, spec, cp, pass) : await consume(s, spec, cp, pass);
    if (outcome.kind === 'complete') {
      s.progress.set(spec.stream, null);
      return;
    }
    await s.log('WARN', `${spec.label}: Graph asked for a full resync (${outcome.reason}); reading everything again`);
    s.logger.warn({ stream: spec.stream, reason: outcome.reason }, 'delta resync');
    if (pass.full) await spec.unmark();
    cp = await freshPass(s, spec, null, { ...cp, pending: pass.pending.toJSON(), roots: [...pass.roots], counters: pass.counters });
    pass.full = true;
    pass.startedAt = cp.startedAt!;
    pass.seen.clear();
  }
}

/** Starts a pass: incremental from `saved`, or full (listing + latest token, or a full delta round). */
async function freshPass<T extends { id: string }>(
  s: RunSession,
  spec: DeltaStreamSpec<T>,
  saved: string | null,
  prev: StageCheckpoint | undefined,
): Promise<StageCheckpoint> {
  const full = saved === null;
  const partitioned = full && spec.partitioned !== undefined;
  // A partitioned pass counts what it lists.
  const total = full && spec.count && !partitioned ? await spec.count().catch(() => null) : null;
  const startedAt = await s.dbNow();
  let deltaLink: string | null = null;
  if (full && (spec.listPath || partitioned)) deltaLink = await latestDeltaLink(s, spec.initialPath);
  const cp: StageCheckpoint = {
    state: 'running',
    full,
    startedAt,
    // Where the pass begins: the stored deltaLink, the list, or the first request of a full round
    // (a partitioned pass has no single place: its chunks are in the checkpoint once listed).
    resumeFrom: partitioned ? null : (saved ?? (deltaLink ? spec.listPath! : spec.initialPath)),
    listing: deltaLink !== null && !partitioned,
    partitioned,
    deltaLink,
    processed: 0,
    total,
    // Removals already collected by an interrupted incremental round stay true after a resync.
    ...(prev?.pending ? { pending: prev.pending } : {}),
    ...(prev?.roots ? { roots: prev.roots } : {}),
    ...(prev?.counters ? { counters: prev.counters } : {}),
  };
  await s.saveStage(spec.stream, cp);
  s.progress.set(spec.stream, progressText(spec.label, full, 0, total));
  return cp;
}

/** A deltaLink that reports changes from now on (`$deltatoken=latest`, no data). */
async function latestDeltaLink(s: RunSession, initialPath: string): Promise<string> {
  const gen = s.graph.delta<{ id: string }>(`${initialPath}${initialPath.includes('?') ? '&' : '?'}$deltatoken=latest`, {
    signal: s.signal,
  });
  for (;;) {
    const r = await gen.next();
    if (!r.done) continue;
    if (r.value.kind !== 'complete') throw new Error(`Graph gave no delta token for ${initialPath}: ${r.value.reason}`);
    return r.value.deltaLink;
  }
}

async function* listing<T extends { id: string }>(
  s: RunSession,
  listPath: string,
  startAt: string,
  deltaLink: string,
): AsyncGenerator<DeltaPage<T>, DeltaOutcome> {
  const opts = startAt === listPath ? { signal: s.signal } : { signal: s.signal, startAt };
  for await (const page of s.graph.pages<T>(listPath, opts)) {
    yield { changes: page.items.map((o) => ({ kind: 'upsert' as const, id: o.id, object: o })), resumeFrom: page.resumeFrom };
  }
  return { kind: 'complete', deltaLink };
}

/** Pulls pages from Graph in the background, up to `depth` ahead of the consumer. */
class PageQueue<T> {
  private readonly pages: DeltaPage<T>[] = [];
  private outcome: DeltaOutcome | null = null;
  private error: unknown = null;
  private wake: (() => void) | null = null;
  private room: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly gen: AsyncGenerator<DeltaPage<T>, DeltaOutcome>,
    private readonly depth: number,
  ) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      while (!this.stopped) {
        while (this.pages.length >= this.depth && !this.stopped) await new Promise<void>((r) => (this.room = r));
        if (this.stopped) break;
        const r = await this.gen.next();
        if (r.done) {
          this.outcome = r.value;
          break;
        }
        this.pages.push(r.value);
        this.wake?.();
      }
    } catch (err) {
      this.error = err ?? new Error('page fetch failed');
    }
    this.wake?.();
  }

  /** The next page, or the round's outcome once all pages were taken. */
  async next(): Promise<DeltaPage<T> | DeltaOutcome> {
    for (;;) {
      const page = this.pages.shift();
      if (page) {
        this.room?.();
        return page;
      }
      if (this.error) throw this.error;
      if (this.outcome) return this.outcome;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }

  /** Stops fetching. Not awaited: a fetch in flight (retrying a 503, say) must not hold up the failure. */
  stop(): void {
    this.stopped = true;
    this.room?.();
    void this.gen.return({ kind: 'resync', reason: 'stopped' }).catch(() => undefined);
  }
}

/**
 * Writes a pass's rows in batches, up to WRITERS at once, and saves each batch's checkpoint once it
 * and every earlier batch are written (checkpoints are saved in order).
 */
class BatchWriter {
  buffer = new WriteBuffer();
  failure: unknown = null;
  private saved: Promise<void> = Promise.resolve();
  private lastWrite: Promise<unknown> = Promise.resolve();
  private readonly writing = new Set<Promise<void>>();
  private lastSave = 0;

  /**
   * `minSaveIntervalMs`: a save that would follow the previous one sooner is left out (the next one
   * covers its batches too; the last, `done`, is always saved). A partitioned pass's checkpoint
   * carries every chunk's group ids (~200 KB at L): saving it after each of L's ~130 batches cost
   * Postgres ~1.7 CPU-s (parsing, TOAST compression and WAL of the whole value each time), and a
   * crash now costs at most that interval's rounds more.
   */
  constructor(
    private readonly s: RunSession,
    private readonly stream: DeltaStream,
    private readonly pass: PassState,
    private readonly minSaveIntervalMs = 0,
  ) {}

  /**
   * Starts writing the buffer (once fewer than WRITERS batches are being written), then saves
   * `state`, which the caller captured before this call: it must describe exactly the pages whose
   * rows this flush writes.
   */
  async flush(state: StageCheckpoint): Promise<void> {
    const { s, pass, stream } = this;
    const rows = this.buffer;
    this.buffer = new WriteBuffer();
    while (this.writing.size >= WRITERS) await Promise.race(this.writing);
    const t0 = Date.now();
    const markRunId = pass.full ? s.runId : null;
    // Memberships and ownerships go through the addition guard (a page read before a revoke must
    // not write the revoked member back), so they are written here rather than by the buffer.
    const grants = rows.grants;
    rows.grants = [];
    const write = rows.flush(s.db, s.connectorId, markRunId, () =>
      upsertDirectGrants(s.db, s.connectorId, grants, {
        markRunId,
        assignmentIdFromGraph: false,
        expiryFromGraph: false,
        guard: verifiedGuard(s, pass.startedAt, pass.counters),
      }),
    );
    this.lastWrite = write;
    const settled: Promise<void> = write.then(
      () => void this.writing.delete(settled),
      () => void this.writing.delete(settled),
    );
    this.writing.add(settled);
    const prev = this.saved;
    this.saved = (async () => {
      const written = await write;
      const ms = Date.now() - t0;
      await prev;
      bump(pass.counters, 'rowsWritten', written);
      bump(pass.counters, `ms_write_${stream}`, ms);
      // Every batch up to this one is written: the counters say so.
      state.counters = {
        ...state.counters,
        ...Object.fromEntries(Object.entries(pass.counters).filter(([k]) => k.startsWith('additions'))),
        rowsWritten: pass.counters['rowsWritten']!,
        [`ms_write_${stream}`]: pass.counters[`ms_write_${stream}`]!,
      };
      if (state.state !== 'done' && Date.now() - this.lastSave < this.minSaveIntervalMs) return;
      await s.saveStage(stream, state);
      this.lastSave = Date.now();
    })();
    this.saved.catch((err: unknown) => (this.failure ??= err));
  }

  /** A batch's rows are being written. */
  get busy(): boolean {
    return this.writing.size > 0;
  }

  /**
   * The rows of every flush so far are written (their checkpoints may still be being saved, in
   * order, each after its own rows); rejects with the first failure.
   */
  async written(): Promise<void> {
    await this.lastWrite;
    if (this.failure) throw this.failure;
  }

  /** Every flush so far written and checkpointed (rejects with the first failure). */
  settled(): Promise<void> {
    return this.saved;
  }
}

async function consume<T extends { id: string }>(
  s: RunSession,
  spec: DeltaStreamSpec<T>,
  cp: StageCheckpoint,
  pass: PassState,
): Promise<DeltaOutcome> {
  const start = cp.resumeFrom!;
  const gen =
    cp.listing && cp.deltaLink ? listing<T>(s, spec.listPath!, start, cp.deltaLink) : s.graph.delta<T>(start, { signal: s.signal });
  const queue = new PageQueue(gen, PREFETCH_PAGES);
  const w = new BatchWriter(s, spec.stream, pass);
  let processed = cp.processed;
  let rootsOverflow = cp.rootsOverflow ?? false;
  const coalesce = !pass.full && spec.coalescePages === true;
  const flush = (patch: Partial<StageCheckpoint>) => w.flush(snapshot(cp, pass, { ...patch, processed, rootsOverflow }));

  try {
    for (;;) {
      if (w.failure) throw w.failure;
      const t0 = Date.now();
      const next = await queue.next();
      bump(pass.counters, `ms_wait_${spec.stream}`, Date.now() - t0);
      if (!('changes' in next)) {
        if (next.kind === 'complete') {
          // Coalesced batches go one at a time: the last starts when the one before is written.
          if (coalesce) await w.written();
          // The last page has no nextLink: the finished round is its checkpoint.
          await flush({ state: 'done', resumeFrom: null, deltaLink: next.deltaLink });
        }
        await w.settled();
        return next;
      }
      await spec.apply(next, pass, w.buffer);
      processed += next.changes.length;
      s.progress.set(spec.stream, progressText(spec.label, pass.full, processed, cp.total ?? null));
      if (pass.roots.size > MAX_ROOTS) {
        rootsOverflow = true;
        pass.roots.clear();
      }
      if (next.resumeFrom && coalesce) {
        // Written with the next page that finds no write going (or with the last one).
        if (!w.busy) await flush({ resumeFrom: next.resumeFrom });
      } else if (next.resumeFrom && (!pass.full || w.buffer.size >= s.writeBatchRows)) {
        await flush({ resumeFrom: next.resumeFrom });
        // Incremental pages may read what earlier pages wrote (links-only changes, app roles): in
        // order. Only the rows are waited for: the page's checkpoint is saved while the next page is
        // applied and written (one round trip less per page on the run's longest path), and a
        // checkpoint never names a page whose rows are not written.
        if (!pass.full) await w.written();
      }
    }
  } catch (err) {
    // The last checkpoint save waits for every write still going.
    await w.settled().catch(() => undefined);
    throw err;
  } finally {
    queue.stop();
  }
}

/**
 * A partitioned full pass (see `DeltaStreamSpec.partitioned`): lists the ids unless the checkpoint
 * has them, then reads the chunks not done yet as filtered rounds at once and writes their pages as
 * they come. A checkpoint names the chunks whose every page is written; a resumed pass reads the
 * others again from their start (a chunk is a few pages).
 */
async function consumePartitioned<T extends { id: string }>(
  s: RunSession,
  spec: DeltaStreamSpec<T>,
  cp: StageCheckpoint,
  pass: PassState,
): Promise<DeltaOutcome> {
  const part = spec.partitioned!;
  if (!cp.chunks) {
    const t0 = Date.now();
    const ids = await part.listIds(pass);
    bump(pass.counters, `ms_list_${spec.stream}`, Date.now() - t0);
    cp = { ...cp, chunks: planChunks(ids, part.chunkSize), chunksDone: [], total: ids.length };
    await s.saveStage(spec.stream, snapshot(cp, pass, {}));
    s.progress.set(spec.stream, progressText(spec.label, true, 0, ids.length));
  }
  const chunks = cp.chunks!;
  const done = new Set(cp.chunksDone ?? []);
  const todo = chunks.map((_, i) => i).filter((i) => !done.has(i));
  if (done.size > 0)
    await s.log('INFO', `${spec.label}: resuming the full pass, ${fmt(done.size)} of ${fmt(chunks.length)} chunks already read`);
  const reader = new PartitionedRounds<T>(s.graph, {
    chunks,
    todo,
    roundPath: part.roundPath,
    concurrency: part.concurrency,
    depth: PREFETCH_PAGES,
    signal: s.signal,
  });
  const w = new BatchWriter(s, spec.stream, pass, s.checkpointMinIntervalMs);
  let processed = cp.processed;
  // Captured now, like every flush: the chunks complete so far.
  const flush = (patch: Partial<StageCheckpoint>) => w.flush(snapshot(cp, pass, { processed, chunks, chunksDone: [...done], ...patch }));
  try {
    for (;;) {
      if (w.failure) throw w.failure;
      const t0 = Date.now();
      const item = await reader.next();
      bump(pass.counters, `ms_wait_${spec.stream}`, Date.now() - t0);
      if (item === null) break;
      if (item.page) {
        await spec.apply(item.page, pass, w.buffer);
        processed += item.page.changes.length;
        s.progress.set(spec.stream, progressText(spec.label, true, processed, cp.total ?? null));
      }
      if (item.last) done.add(item.chunk);
      if (w.buffer.size >= s.writeBatchRows) await flush({});
    }
    bump(pass.counters, `graphRounds_${spec.stream}`, reader.stats.rounds);
    bump(pass.counters, `graphPages_${spec.stream}`, reader.stats.pages);
    bump(pass.counters, `graphLongestChain_${spec.stream}`, reader.stats.longestWorkerPages);
    if (reader.stats.restarts) bump(pass.counters, `graphRoundRestarts_${spec.stream}`, reader.stats.restarts);
    // Done: the chunk lists are of no further use, and the stored checkpoint stays small.
    await flush({ state: 'done', resumeFrom: null, deltaLink: cp.deltaLink ?? null, chunks: undefined, chunksDone: undefined });
    await w.settled();
    return { kind: 'complete', deltaLink: cp.deltaLink! };
  } catch (err) {
    await w.settled().catch(() => undefined);
    throw err;
  } finally {
    reader.stop();
  }
}

function snapshot(cp: StageCheckpoint, pass: PassState, patch: Partial<StageCheckpoint>): StageCheckpoint {
  return {
    ...cp,
    full: pass.full,
    startedAt: pass.startedAt,
    pending: pass.pending.toJSON(),
    roots: [...pass.roots],
    counters: { ...pass.counters },
    ...patch,
  };
}

export function progressText(label: string, full: boolean, processed: number, total: number | null): string {
  if (!full) return `${label}: ${fmt(processed)} changes`;
  return total !== null ? `${label}: ${fmt(Math.min(processed, total))} / ${fmt(total)}` : `${label}: ${fmt(processed)}`;
}

export function bump(counters: Record<string, number>, name: string, by = 1): void {
  counters[name] = (counters[name] ?? 0) + by;
}
