import type { DeltaOutcome, DeltaPage } from '@warden/graph-core';
import { PendingDeletions, type DeltaStream, type StageCheckpoint } from '../runs/checkpoint';
import { fmt } from '../runs/progress';
import type { RunSession } from '../runs/session';

/** Closure roots beyond this many make the finishing step recompute the whole closure instead. */
const MAX_ROOTS = 20_000;

export interface PassState {
  /** This pass is a complete enumeration (first round of a delta query). */
  full: boolean;
  /** Database time the pass started; removals are "observed" then (a round is a snapshot from its start). */
  startedAt: string;
  pending: PendingDeletions;
  roots: Set<string>;
  counters: Record<string, number>;
}

export interface DeltaStreamSpec<T extends { id: string }> {
  stream: DeltaStream;
  /** The first request of a full round, e.g. '/v1.0/users/delta?$select=…'. */
  initialPath: string;
  /** Label in progress lines and logs. */
  label: string;
  /** Writes one page; must be idempotent (a page may be applied again after a crash). */
  apply(page: DeltaPage<T>, pass: PassState): Promise<void>;
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
 * stored deltaLink (incremental) or from scratch (full, or no usable link). Pages are fetched one
 * ahead of the writes. 'resync' (expired or reset state) restarts as a full pass by itself.
 */
export async function runDeltaStream<T extends { id: string }>(s: RunSession, spec: DeltaStreamSpec<T>): Promise<void> {
  let cp = s.stage(spec.stream);
  if (cp?.state === 'done' || cp?.state === 'skipped') return;
  let start: string;
  if (cp?.state === 'running' && cp.resumeFrom) {
    start = cp.resumeFrom;
  } else {
    const saved = s.mode === 'INCREMENTAL' ? s.savedDeltaLink(spec.stream) : null;
    cp = await freshPass(s, spec, saved === null, cp);
    start = saved ?? spec.initialPath;
    if (saved === null && s.mode === 'INCREMENTAL') await s.log('INFO', `${spec.label}: no delta state yet, reading everything`);
  }
  const pass: PassState = {
    full: cp.full,
    startedAt: cp.startedAt ?? (await s.dbNow()),
    pending: PendingDeletions.from(cp.pending),
    roots: new Set(cp.roots ?? []),
    counters: { ...(cp.counters ?? {}) },
  };
  let processed = cp.processed;
  const total = cp.total ?? null;
  let rootsOverflow = cp.rootsOverflow ?? false;

  for (;;) {
    const outcome = await consume(s, spec, start, pass, async (page) => {
      processed += page.changes.length;
      s.progress.set(spec.stream, progressText(spec.label, pass.full, processed, total));
      if (pass.roots.size > MAX_ROOTS) {
        rootsOverflow = true;
        pass.roots.clear();
      }
      // The last page has no nextLink: its checkpoint is the finished round, saved below.
      if (page.resumeFrom) await s.saveStage(spec.stream, snapshot(cp!, pass, { resumeFrom: page.resumeFrom, processed, rootsOverflow }));
    });
    if (outcome.kind === 'complete') {
      await s.saveStage(spec.stream, snapshot(cp, pass, { state: 'done', resumeFrom: null, deltaLink: outcome.deltaLink, processed, rootsOverflow }));
      s.progress.set(spec.stream, null);
      return;
    }
    await s.log('WARN', `${spec.label}: Graph asked for a full resync (${outcome.reason}); reading everything again`);
    s.logger.warn({ stream: spec.stream, reason: outcome.reason }, 'delta resync');
    if (pass.full) await spec.unmark();
    cp = await freshPass(s, spec, true, { ...cp, pending: pass.pending.toJSON(), roots: [...pass.roots], counters: pass.counters });
    pass.full = true;
    pass.startedAt = cp.startedAt!;
    processed = 0;
    start = spec.initialPath;
  }
}

async function freshPass<T extends { id: string }>(s: RunSession, spec: DeltaStreamSpec<T>, full: boolean, prev: StageCheckpoint | undefined): Promise<StageCheckpoint> {
  const total = full && spec.count ? await spec.count().catch(() => null) : null;
  const cp: StageCheckpoint = {
    state: 'running',
    full,
    startedAt: await s.dbNow(),
    resumeFrom: null,
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

async function consume<T extends { id: string }>(
  s: RunSession,
  spec: DeltaStreamSpec<T>,
  start: string,
  pass: PassState,
  afterPage: (page: DeltaPage<T>) => Promise<void>,
): Promise<DeltaOutcome> {
  const gen = s.graph.delta<T>(start, { signal: s.signal });
  let next = gen.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return r.value;
      // Fetch the next page while this one is written.
      next = gen.next();
      await spec.apply(r.value, pass);
      await afterPage(r.value);
    }
  } catch (err) {
    next.catch(() => undefined);
    await gen.return({ kind: 'resync', reason: 'aborted' }).catch(() => undefined);
    throw err;
  }
}

function snapshot(cp: StageCheckpoint, pass: PassState, patch: Partial<StageCheckpoint>): StageCheckpoint {
  return {
    ...cp,
    full: pass.full,
    startedAt: pass.startedAt,
    pending: pass.pending.toJSON(),
    roots: [...pass.roots],
    counters: pass.counters,
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
