import type { DeltaOutcome, DeltaPage } from '@warden/graph-core';
import { PendingDeletions, type DeltaStream, type StageCheckpoint } from '../runs/checkpoint';
import { fmt } from '../runs/progress';
import type { RunSession } from '../runs/session';
import { WriteBuffer } from '../writers/buffer';

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
  if (!(cp?.state === 'running' && (cp.resumeFrom || (cp.listing && cp.deltaLink)))) {
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
    const outcome = await consume(s, spec, cp, pass);
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
  const total = full && spec.count ? await spec.count().catch(() => null) : null;
  const startedAt = await s.dbNow();
  let deltaLink: string | null = null;
  if (full && spec.listPath) deltaLink = await latestDeltaLink(s, spec.initialPath);
  const cp: StageCheckpoint = {
    state: 'running',
    full,
    startedAt,
    // Where the pass begins: the stored deltaLink, the list, or the first request of a full round.
    resumeFrom: saved ?? (deltaLink ? spec.listPath! : spec.initialPath),
    listing: deltaLink !== null,
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
  let buffer = new WriteBuffer();
  let processed = cp.processed;
  let rootsOverflow = cp.rootsOverflow ?? false;
  // Checkpoints are saved in order, each after its own batch and every earlier one were written.
  let saved: Promise<void> = Promise.resolve();
  const writing = new Set<Promise<void>>();
  let failure: unknown = null;
  const mark = () => (pass.full ? s.runId : null);

  // Starts writing the buffer (once fewer than WRITERS batches are being written), then saves the
  // checkpoint that covers it.
  const flush = async (patch: Partial<StageCheckpoint>) => {
    const rows = buffer;
    buffer = new WriteBuffer();
    // Captured now: the checkpoint must describe exactly the pages whose rows this flush writes.
    const state = snapshot(cp, pass, { ...patch, processed, rootsOverflow });
    while (writing.size >= WRITERS) await Promise.race(writing);
    const t0 = Date.now();
    const write = rows.flush(s.db, s.connectorId, mark());
    const settled: Promise<void> = write.then(
      () => void writing.delete(settled),
      () => void writing.delete(settled),
    );
    writing.add(settled);
    const prev = saved;
    saved = (async () => {
      const written = await write;
      const ms = Date.now() - t0;
      await prev;
      bump(pass.counters, 'rowsWritten', written);
      bump(pass.counters, `ms_write_${spec.stream}`, ms);
      // Every batch up to this one is written: the counters say so.
      state.counters = {
        ...state.counters,
        rowsWritten: pass.counters['rowsWritten']!,
        [`ms_write_${spec.stream}`]: pass.counters[`ms_write_${spec.stream}`]!,
      };
      await s.saveStage(spec.stream, state);
    })();
    saved.catch((err: unknown) => (failure ??= err));
  };

  try {
    for (;;) {
      if (failure) throw failure;
      const t0 = Date.now();
      const next = await queue.next();
      bump(pass.counters, `ms_wait_${spec.stream}`, Date.now() - t0);
      if (!('changes' in next)) {
        if (next.kind === 'complete') {
          // The last page has no nextLink: the finished round is its checkpoint.
          await flush({ state: 'done', resumeFrom: null, deltaLink: next.deltaLink });
        }
        await saved;
        return next;
      }
      await spec.apply(next, pass, buffer);
      processed += next.changes.length;
      s.progress.set(spec.stream, progressText(spec.label, pass.full, processed, cp.total ?? null));
      if (pass.roots.size > MAX_ROOTS) {
        rootsOverflow = true;
        pass.roots.clear();
      }
      if (next.resumeFrom && (!pass.full || buffer.size >= s.writeBatchRows)) {
        await flush({ resumeFrom: next.resumeFrom });
        // Incremental pages may read what earlier pages wrote (links-only changes, app roles): in order.
        if (!pass.full) await saved;
      }
    }
  } catch (err) {
    // The last checkpoint save waits for every write still going.
    await saved.catch(() => undefined);
    throw err;
  } finally {
    queue.stop();
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
