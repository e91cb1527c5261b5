import { sql } from 'kysely';
import { GraphError } from '@warden/graph-core';
import type { RunSession } from '../runs/session';
import { str } from '../model';

/**
 * Graph lists at most 500 users per page when `signInActivity` is selected (Microsoft's user-list
 * page, newer revision: "the maximum page size for `$top` is 500"; older revisions said 120;
 * `../shared/reference/graph-api.md` §1). A larger `$top` would not fail, only be capped.
 */
export const SIGN_IN_PAGE_SIZE = 500;
export const SIGN_IN_PATH = `/v1.0/users?$select=id,signInActivity&$top=${SIGN_IN_PAGE_SIZE}`;

interface GraphSignIns {
  id: string;
  signInActivity?: {
    lastSignInDateTime?: string | null;
    lastNonInteractiveSignInDateTime?: string | null;
    lastSuccessfulSignInDateTime?: string | null;
  } | null;
}

/** The profile keys this stage owns; the users stage keeps them when it rewrites a profile. */
export function signInProfile(a: GraphSignIns['signInActivity']): Record<string, string | null> {
  return {
    lastSignInDateTime: str(a?.lastSignInDateTime),
    lastNonInteractiveSignInDateTime: str(a?.lastNonInteractiveSignInDateTime),
    lastSuccessfulSignInDateTime: str(a?.lastSuccessfulSignInDateTime),
  };
}

/** When this connector's sign-in activity was last read completely (a succeeded run with the stage done). */
async function lastRead(s: RunSession): Promise<Date | null> {
  const r = await sql<{ at: Date | null }>`
    SELECT max(finished_at) AS at FROM sync_runs
    WHERE connector_id = ${s.connectorId}::uuid AND status = 'SUCCEEDED'
      AND checkpoint -> 'stages' -> 'signIns' ->> 'state' = 'done'`.execute(s.db);
  return r.rows[0]?.at ?? null;
}

/**
 * Users' signInActivity (lastSignInDateTime, lastNonInteractiveSignInDateTime,
 * lastSuccessfulSignInDateTime): not part of users delta, so it is listed — on every full run, and on
 * an incremental run when the last complete read is older than `intervalSeconds`. 500 users per page
 * (Graph's cap with signInActivity); each page patches only the rows whose values changed.
 */
export async function syncSignIns(s: RunSession, opts: { intervalSeconds: number; usersWritten?: Promise<unknown> }): Promise<void> {
  let cp = s.stage('signIns');
  if (cp?.state === 'done' || cp?.state === 'skipped') return;
  if (!cp && s.mode === 'INCREMENTAL') {
    const at = await lastRead(s);
    if (at && Date.now() - at.getTime() < opts.intervalSeconds * 1000) return;
  }
  cp ??= { state: 'running', full: false, processed: 0, resumeFrom: SIGN_IN_PATH };
  await s.saveStage('signIns', cp);
  let processed = cp.processed;
  let changed = cp.counters?.['rowsWritten'] ?? 0;
  const start = cp.resumeFrom ?? SIGN_IN_PATH;
  const opts2 = start === SIGN_IN_PATH ? { signal: s.signal } : { signal: s.signal, startAt: start };
  // The pages form one nextLink chain (no parallel reads). Reading starts with the users stage; the
  // pages read meanwhile are held until the users' rows exist (they patch them), and the checkpoint
  // only ever names the page after the last one applied, so a resumed run reads the held ones again.
  // Then rows are written every few thousand users, one write in flight while the next pages come.
  let usersDone = false;
  // Not a GraphError: a refusal of the users read must not pass for a refusal of signInActivity below.
  const usersWritten = (opts.usersWritten ?? Promise.resolve()).then(
    () => void (usersDone = true),
    (err: unknown) => {
      throw new Error('the users stage failed', { cause: err });
    },
  );
  usersWritten.catch(() => undefined);
  const gen = s.graph.pages<GraphSignIns>(SIGN_IN_PATH, opts2);
  const ahead = () => {
    const p = gen.next();
    p.catch(() => undefined);
    return p;
  };
  let batch: GraphSignIns[] = [];
  let writing: Promise<void> = Promise.resolve();
  const flush = async (resumeFrom: string | null) => {
    await writing;
    const items = batch;
    batch = [];
    writing = (async () => {
      changed += await patchSignIns(s, items);
      processed += items.length;
      await s.saveStage('signIns', { state: 'running', full: false, processed, resumeFrom, counters: { rowsWritten: changed } });
      s.progress.set('signIns', `sign-in activity: ${processed.toLocaleString('en-US')}`);
    })();
    writing.catch(() => undefined);
  };
  try {
    let next = ahead();
    for (;;) {
      const r = await next;
      if (r.done) break;
      next = ahead();
      for (const u of r.value.items) batch.push(u);
      if (r.value.resumeFrom === null) {
        await usersWritten;
        await flush(null);
      } else if (usersDone && batch.length >= s.writeBatchRows) await flush(r.value.resumeFrom);
    }
    await writing;
  } catch (err) {
    void gen.return(undefined).catch(() => undefined);
    await writing.catch(() => undefined);
    // A tenant without Entra ID P1/P2 (or a consent withdrawn since the token) refuses signInActivity
    // alone: skip the stage, keep the run.
    if (!(err instanceof GraphError) || (err.status !== 403 && err.status !== 400)) throw err;
    const reason = `skipped sign-in activity: Graph refused it (${err.status} ${err.code}: ${err.graphMessage})`;
    await s.saveStage('signIns', { state: 'skipped', reason, full: false, processed });
    await s.log('WARN', `Sync ${reason}.`);
    s.progress.set('signIns', null);
    return;
  }
  await s.saveStage('signIns', { state: 'done', full: false, processed, resumeFrom: null, counters: { rowsWritten: changed } });
  s.progress.set('signIns', null);
}

async function patchSignIns(s: RunSession, items: readonly GraphSignIns[]): Promise<number> {
  if (items.length === 0) return 0;
  const res = await sql`
    UPDATE resources AS r SET profile = r.profile || v.patch, updated_at = now()
    FROM unnest(${items.map((u) => u.id)}::text[], ${items.map((u) => JSON.stringify(signInProfile(u.signInActivity)))}::jsonb[])
         AS v(external_id, patch)
    WHERE r.connector_id = ${s.connectorId}::uuid AND r.type = 'USER' AND r.external_id = v.external_id
      AND NOT (r.profile @> v.patch)`.execute(s.db);
  return Number(res.numAffectedRows ?? 0);
}
