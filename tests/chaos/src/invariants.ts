import type { Kysely } from 'kysely';
import type { Database } from '@warden/database';
import type { TenantExport, WriteLogEntry } from '@warden/graph-emulator';
// The sync worker's own exactness comparison: one definition of "the database equals the tenant".
import { diffDatabase, expectedModel } from '@warden/sync-worker/testing';
import type { Cluster } from './cluster';
import type { FaultObservations } from './faults';
import type { FreshnessStats } from './freshness';
import type { Pair } from './load';

export interface InvariantResult {
  name: string;
  pass: boolean;
  /** The figures behind the verdict. */
  figures: Record<string, number | string>;
  /** A few offending rows when it failed. */
  examples?: unknown[];
}

export interface InvariantContext {
  cluster: Cluster;
  kdb: Kysely<Database>;
  pairs: Pair[];
  finalExport: TenantExport;
  writes: WriteLogEntry[];
  observations: FaultObservations;
  freshness: FreshnessStats;
}

/** One promise of the system, checked after the run settles. Request/review invariants plug in here. */
export interface Invariant {
  name: string;
  check(ctx: InvariantContext): Promise<InvariantResult>;
}

const q = async <T>(ctx: InvariantContext, text: string, params: unknown[] = []): Promise<T[]> =>
  (await ctx.cluster.db.query(text, params)).rows as T[];

export const syncExact: Invariant = {
  name: 'database equals the emulator export after one full sync',
  async check(ctx) {
    const report = await diffDatabase(ctx.kdb, ctx.cluster.connectorId, expectedModel(ctx.finalExport), 10);
    return {
      name: this.name,
      pass: report.differences.length === 0,
      figures: { ...report.counts, differences: report.differences.length },
      examples: report.differences.slice(0, 5),
    };
  },
};

export const tasksFinal: Invariant = {
  name: 'every provisioning task is final',
  async check(ctx) {
    const rows = await q<{ status: string; n: string }>(
      ctx,
      `SELECT status, count(*)::text AS n FROM provisioning_tasks WHERE connector_id = $1 GROUP BY status`,
      [ctx.cluster.connectorId],
    );
    const by = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    const open = (by['PENDING'] ?? 0) + (by['RUNNING'] ?? 0);
    return { name: this.name, pass: open === 0, figures: { SUCCEEDED: by['SUCCEEDED'] ?? 0, FAILED: by['FAILED'] ?? 0, open } };
  },
};

export const oneAuditOutcome: Invariant = {
  name: 'the audit log has exactly one outcome row per task',
  async check(ctx) {
    const bad = await q<{ id: string; n: string }>(
      ctx,
      `SELECT t.id, count(a.id)::text AS n
       FROM provisioning_tasks t
       LEFT JOIN audit_events a ON a.details->>'taskId' = t.id::text
         AND a.action IN ('grant.succeeded', 'grant.failed', 'revoke.succeeded', 'revoke.failed')
       WHERE t.connector_id = $1
       GROUP BY t.id HAVING count(a.id) <> 1`,
      [ctx.cluster.connectorId],
    );
    const [tasks] = await q<{ n: string }>(ctx, `SELECT count(*)::text AS n FROM provisioning_tasks WHERE connector_id = $1`, [
      ctx.cluster.connectorId,
    ]);
    return {
      name: this.name,
      pass: bad.length === 0,
      figures: { tasks: Number(tasks?.n ?? 0), wrong: bad.length },
      examples: bad.slice(0, 5),
    };
  },
};

/**
 * From the emulator's write log: per (group, user), the membership writes Graph applied (2xx) by
 * operation. Each task may cause at most one (its retries find the effect and stop), and each task
 * whose audit says it applied the change must have one.
 */
export const graphWritesOnce: Invariant = {
  name: 'every Graph write happened at most once per task (and every applied task wrote)',
  async check(ctx) {
    const byKey = appliedWrites(ctx.writes);
    const applied = new Map([...byKey].map(([k, times]) => [k, times.length]));
    const membershipWrites = [...applied.values()].reduce((a, b) => a + b, 0);
    const otherWrites = ctx.writes.filter((w) => w.status >= 200 && w.status <= 299).length - membershipWrites;
    const tasks = await q<{ action: string; group_id: string; user_id: string; n: string; applied: string }>(
      ctx,
      // The group from the task's own key (GROUP:<id>:member): tenant churn may have deleted the entitlement row.
      `SELECT t.action, split_part(t.entitlement_key, ':', 2) AS group_id, t.principal_external_id AS user_id, count(*)::text AS n,
              count(*) FILTER (WHERE a.details->>'effect' = 'applied')::text AS applied
       FROM provisioning_tasks t
       LEFT JOIN audit_events a ON a.details->>'taskId' = t.id::text AND a.action IN ('grant.succeeded', 'revoke.succeeded')
       WHERE t.connector_id = $1
       GROUP BY 1, 2, 3`,
      [ctx.cluster.connectorId],
    );
    const examples: unknown[] = [];
    let over = 0;
    let under = 0;
    let appliedTasks = 0;
    const seen = new Set<string>();
    for (const t of tasks) {
      const key = `${t.action}:${t.group_id}:${t.user_id}`;
      seen.add(key);
      const writes = applied.get(key) ?? 0;
      appliedTasks += Number(t.applied);
      if (writes > Number(t.n)) {
        over++;
        if (examples.length < 5) examples.push({ key, writes, tasks: Number(t.n) });
      }
      if (writes < Number(t.applied)) {
        under++;
        if (examples.length < 5) examples.push({ key, writes, appliedTasks: Number(t.applied) });
      }
    }
    const orphanWrites = [...applied.keys()].filter((k) => !seen.has(k)).length;
    return {
      name: this.name,
      pass: over === 0 && under === 0 && orphanWrites === 0 && otherWrites === 0,
      figures: {
        membershipWrites,
        appliedTasks,
        pairsWrittenTwice: over,
        appliedWithoutWrite: under,
        writesWithoutTask: orphanWrites,
        otherWrites,
      },
      examples,
    };
  },
};

export const expiredRevoked: Invariant = {
  name: 'every time-bound grant whose time passed is revoked',
  async check(ctx) {
    const [still] = await q<{ n: string }>(
      ctx,
      `SELECT count(*)::text AS n FROM grants WHERE connector_id = $1 AND direct AND expires_at <= now()`,
      [ctx.cluster.connectorId],
    );
    // Per pair, the last successful task: a GRANT whose expiry passed means its revoke never happened.
    // Per pair, the last successful task: a GRANT whose expiry passed must not have left the membership
    // in Graph (tenant churn may have removed it first, so no revoke was needed then), unless the
    // membership was there, permanent, before the grant.
    const lastExpired = await q<{ id: string; group_id: string; user_id: string }>(
      ctx,
      `SELECT id, group_id, user_id FROM (
         SELECT DISTINCT ON (t.entitlement_id, t.principal_id) t.id, t.action, t.expires_at,
                split_part(t.entitlement_key, ':', 2) AS group_id, t.principal_external_id AS user_id
         FROM provisioning_tasks t
         WHERE t.connector_id = $1 AND t.status = 'SUCCEEDED'
         ORDER BY t.entitlement_id, t.principal_id, t.seq DESC) last
       WHERE action = 'GRANT' AND expires_at <= now()
         -- Access Graph already held (permanent) before a just-in-time grant stays: no expiry was put on it.
         AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.details->>'taskId' = last.id::text
                         AND a.action = 'grant.succeeded' AND a.details->>'heldBefore' = 'true')`,
      [ctx.cluster.connectorId],
    );
    const members = new Map<string, Set<string>>();
    for (const g of ctx.finalExport.groups) members.set(g['id'] as string, new Set((g['members'] as string[] | undefined) ?? []));
    const stillMember = lastExpired.filter((t) => members.get(t.group_id)?.has(t.user_id));
    const [timeBound] = await q<{ n: string; revoked: string }>(
      ctx,
      `SELECT count(*)::text AS n,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM provisioning_tasks r WHERE r.namespace = 'system'
                                  AND r.connector_id = t.connector_id AND r.entitlement_id = t.entitlement_id
                                  AND r.principal_id = t.principal_id AND r.seq > t.seq))::text AS revoked
       FROM provisioning_tasks t WHERE t.connector_id = $1 AND t.action = 'GRANT' AND t.expires_at IS NOT NULL AND t.status = 'SUCCEEDED'`,
      [ctx.cluster.connectorId],
    );
    const stale = Number(still?.n ?? 0);
    return {
      name: this.name,
      pass: stale === 0 && stillMember.length === 0,
      figures: {
        timeBoundGrantsSucceeded: Number(timeBound?.n ?? 0),
        withSystemRevokeAfter: Number(timeBound?.revoked ?? 0),
        expiredGrantRowsLeft: stale,
        expiredButStillInGraph: stillMember.length,
        expiredAndRemovedByChurn: lastExpired.length - stillMember.length,
      },
      examples: stillMember.slice(0, 5),
    };
  },
};

/** Rows deleted during the run (recorded by a trigger the runner installs) that Graph still has. */
export const noPartialSyncDeletes: Invariant = {
  name: 'no partial sync deleted anything',
  async check(ctx) {
    const deleted = await q<{ external_id: string; type: string; at: Date }>(
      ctx,
      `SELECT external_id, type, at FROM chaos_deleted_resources WHERE connector_id = $1`,
      [ctx.cluster.connectorId],
    );
    const alive = new Set<string>();
    const t = ctx.finalExport as unknown as Record<string, unknown>;
    for (const k of ['users', 'groups', 'servicePrincipals', 'directoryRoles'])
      for (const o of (t[k] as Array<{ id?: string }> | undefined) ?? []) if (o.id) alive.add(o.id);
    const wrong = deleted.filter((d) => alive.has(d.external_id));
    return {
      name: this.name,
      pass: wrong.length === 0,
      figures: { resourcesDeleted: deleted.length, deletedButStillInGraph: wrong.length },
      examples: wrong.slice(0, 5),
    };
  },
};

export const readiness: Invariant = {
  name: 'readiness fails while Postgres or NATS is away, liveness does not; SIGTERM exits within its deadline',
  check(ctx) {
    const r = ctx.observations.readinessWhileDown;
    const ms = ctx.observations.sigtermMs;
    return Promise.resolve({
      name: this.name,
      pass: r.readyzNot200 === r.probes && r.healthz200 === r.probes && ctx.observations.sigtermOverDeadline === 0,
      figures: {
        probesWhileDown: r.probes,
        readyzFailed: r.readyzNot200,
        healthzOk: r.healthz200,
        sigterms: ms.length + ctx.observations.sigtermOverDeadline,
        sigtermOverDeadline: ctx.observations.sigtermOverDeadline,
        sigtermMaxMs: ms.length ? Math.max(...ms) : 0,
      },
      examples: ctx.observations.readinessWrong.slice(0, 5),
    });
  },
};

export const noCrash: Invariant = {
  name: 'no replica crashed (an unhandled error or rejection) while its dependencies failed',
  check(ctx) {
    const crashes = ctx.cluster.services.flatMap((s) => s.crashes.map((c) => `${s.name}: ${c}`));
    const unexpected = ctx.cluster.services.reduce((n, s) => n + s.unexpectedExits, 0);
    return Promise.resolve({
      name: this.name,
      pass: crashes.length === 0,
      // Other unexpected exits are refused starts while Postgres or NATS was away (restarted, as an orchestrator would).
      figures: { crashes: crashes.length, otherUnexpectedExits: unexpected - crashes.length },
      examples: crashes.slice(0, 5),
    });
  },
};

/** Membership writes Graph applied (2xx), by operation, group and user, with their times. */
function appliedWrites(writes: WriteLogEntry[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const w of writes) {
    if (w.status < 200 || w.status > 299) continue;
    const add = /^\/groups\/([^/]+)\/members\/\$ref$/.exec(w.path);
    const del = /^\/groups\/([^/]+)\/members\/([^/]+)\/\$ref$/.exec(w.path);
    let key: string | null = null;
    if (add && w.method === 'POST') {
      const user = /directoryObjects\/([^"/]+)/.exec(w.body ?? '')?.[1];
      if (user) key = `GRANT:${add[1]}:${user}`;
    } else if (del && w.method === 'DELETE') key = `REVOKE:${del[1]}:${del[2]}`;
    if (key) out.set(key, [...(out.get(key) ?? []), Date.parse(w.at)]);
  }
  return out;
}

/** A write of `key` while the task ran (a second of slack each side: the emulator and Postgres stamp separately). */
function wroteDuring(writes: Map<string, number[]>, key: string, from: Date, to: Date | null): number {
  const lo = from.getTime() - 1_000;
  const hi = (to ?? new Date()).getTime() + 1_000;
  return (writes.get(key) ?? []).filter((t) => t >= lo && t <= hi).length;
}

interface RequestRow {
  id: string;
  status: string;
  approved_at: Date | null;
  expired: boolean;
  provisioning_task_id: string | null;
  group_id: string;
  user_id: string;
  tasks: string;
  task_id: string | null;
  task_status: string | null;
  requested_at: Date | null;
  completed_at: Date | null;
  effect: string | null;
}

/**
 * Access requests: every request is final or legitimately waiting (PENDING for a decision, ACTIVE
 * until its end); a request never approved has no grant; an approved one exactly one task under its
 * system key (access-request:<id>), linked, whose outcome the request reflects; a task that applied
 * its grant has its membership write in the emulator's log (doubling is graphWritesOnce's).
 */
export const requestsProvisionedOnce: Invariant = {
  name: 'every access request is final or waiting; approved requests provisioned exactly once',
  async check(ctx) {
    const rows = await q<RequestRow>(
      ctx,
      `SELECT r.id, r.status, r.approved_at, (r.expires_at IS NOT NULL AND r.expires_at <= now()) AS expired, r.provisioning_task_id,
              split_part(r.entitlement_key, ':', 2) AS group_id, r.principal_external_id AS user_id,
              (SELECT count(*) FROM provisioning_tasks k WHERE k.connector_id = r.connector_id AND k.namespace = 'system'
                 AND k.idempotency_key = 'access-request:' || r.id::text)::text AS tasks,
              t.id AS task_id, t.status AS task_status, t.requested_at, t.completed_at,
              (SELECT a.details->>'effect' FROM audit_events a WHERE a.details->>'taskId' = t.id::text AND a.action = 'grant.succeeded' LIMIT 1) AS effect
       FROM access_requests r LEFT JOIN provisioning_tasks t ON t.id = r.provisioning_task_id
       WHERE r.connector_id = $1`,
      [ctx.cluster.connectorId],
    );
    const writes = appliedWrites(ctx.writes);
    const by: Record<string, number> = {};
    const wrong: unknown[] = [];
    let applied = 0;
    const bad = (r: RequestRow, why: string) =>
      wrong.push({ request: r.id, status: r.status, task: r.task_id, tasks: Number(r.tasks), why });
    for (const r of rows) {
      by[r.status] = (by[r.status] ?? 0) + 1;
      const tasks = Number(r.tasks);
      if (r.status === 'APPROVED') bad(r, 'still APPROVED after the settle');
      if (r.status === 'ACTIVE' && r.expired) bad(r, 'ACTIVE after its end');
      if (r.approved_at === null) {
        if (tasks !== 0 || r.provisioning_task_id) bad(r, 'provisioned without an approval');
        continue;
      }
      // Approved: one task, linked (a request refused by provisioning before any task is FAILED with none).
      if (tasks === 0 && r.status === 'FAILED' && !r.provisioning_task_id) continue;
      if (tasks !== 1 || !r.task_id) {
        bad(r, 'not exactly one linked grant task');
        continue;
      }
      if ((r.status === 'ACTIVE' || r.status === 'EXPIRED') && r.task_status !== 'SUCCEEDED')
        bad(r, `${r.status} but its task is ${r.task_status}`);
      if (r.status === 'FAILED' && r.task_status !== 'FAILED') bad(r, `FAILED but its task is ${r.task_status}`);
      if (r.effect === 'applied') {
        applied++;
        if (wroteDuring(writes, `GRANT:${r.group_id}:${r.user_id}`, r.requested_at!, r.completed_at) === 0)
          bad(r, 'applied, but no membership write in the emulator log while its task ran');
      }
    }
    return {
      name: this.name,
      pass: wrong.length === 0,
      figures: { requests: rows.length, ...by, grantsApplied: applied, wrong: wrong.length },
      examples: wrong.slice(0, 5),
    };
  },
};

interface ItemRow {
  id: string;
  review_status: string;
  auto_revoke: boolean;
  remediation_task_id: string | null;
  remediation_error: string | null;
  group_id: string;
  user_id: string;
  tasks: string;
  task_status: string | null;
  requested_at: Date | null;
  completed_at: Date | null;
  effect: string | null;
}

/**
 * Access reviews: each REVOKE item of a completed review with autoRevoke has exactly one revoke task
 * (its key access-review:<item>:<attempt>), linked and final — or the refusal recorded — and a revoke
 * that applied has its membership delete in the emulator's log; no other review has any revoke.
 */
export const reviewRemediationOnce: Invariant = {
  name: 'no review remediation lost or doubled',
  async check(ctx) {
    const rows = await q<ItemRow>(
      ctx,
      `SELECT i.id, rv.status AS review_status, rv.auto_revoke, i.remediation_task_id, i.remediation_error,
              split_part(i.entitlement_key, ':', 2) AS group_id, i.principal_external_id AS user_id,
              (SELECT count(*) FROM provisioning_tasks k WHERE k.connector_id = i.connector_id AND k.namespace = 'system'
                 AND k.idempotency_key LIKE 'access-review:' || i.id::text || ':%')::text AS tasks,
              t.status AS task_status, t.requested_at, t.completed_at,
              (SELECT a.details->>'effect' FROM audit_events a WHERE a.details->>'taskId' = t.id::text AND a.action = 'revoke.succeeded' LIMIT 1) AS effect
       FROM access_review_items i JOIN access_reviews rv ON rv.id = i.review_id
       LEFT JOIN provisioning_tasks t ON t.id = i.remediation_task_id
       WHERE rv.connector_id = $1 AND i.decision = 'REVOKE'`,
      [ctx.cluster.connectorId],
    );
    const [reviews] = await q<{ n: string; completed: string }>(
      ctx,
      `SELECT count(*)::text AS n, count(*) FILTER (WHERE status = 'COMPLETED')::text AS completed FROM access_reviews WHERE connector_id = $1`,
      [ctx.cluster.connectorId],
    );
    const writes = appliedWrites(ctx.writes);
    const wrong: unknown[] = [];
    const f = { revokeItems: 0, remediated: 0, applied: 0, unchanged: 0, failed: 0, refused: 0 };
    for (const r of rows) {
      const tasks = Number(r.tasks);
      const bad = (why: string) => wrong.push({ item: r.id, review: r.review_status, task: r.remediation_task_id, tasks, why });
      if (r.review_status !== 'COMPLETED' || !r.auto_revoke) {
        if (tasks !== 0) bad('a revoke for a review not completed with autoRevoke');
        if (r.review_status === 'COMPLETING') bad('review still COMPLETING after the settle');
        continue;
      }
      f.revokeItems++;
      if (r.remediation_error !== null && !r.remediation_task_id) {
        f.refused++;
        if (tasks !== 0) bad('refused, yet a task exists');
        continue;
      }
      if (tasks !== 1 || !r.remediation_task_id) {
        bad('not exactly one linked revoke task');
        continue;
      }
      if (r.task_status !== 'SUCCEEDED' && r.task_status !== 'FAILED') bad(`remediation ${r.task_status}`);
      if (r.task_status === 'FAILED') f.failed++;
      if (r.task_status === 'SUCCEEDED') f.remediated++;
      if (r.effect === 'applied') {
        f.applied++;
        if (wroteDuring(writes, `REVOKE:${r.group_id}:${r.user_id}`, r.requested_at!, r.completed_at) === 0)
          bad('applied, but no membership delete in the emulator log while its task ran');
      } else if (r.effect === 'unchanged') f.unchanged++;
    }
    return {
      name: this.name,
      pass: wrong.length === 0,
      figures: { reviews: Number(reviews?.n ?? 0), completed: Number(reviews?.completed ?? 0), ...f, wrong: wrong.length },
      examples: wrong.slice(0, 5),
    };
  },
};

/** Time-bound access given through requests ended: the request EXPIRED, its grant row gone (Graph: expiredRevoked). */
export const requestExpiryRevoked: Invariant = {
  name: 'every time-bound access request whose time passed is expired and its grant revoked',
  async check(ctx) {
    const rows = await q<{ id: string; status: string; grant_left: boolean }>(
      ctx,
      `SELECT r.id, r.status,
              EXISTS (SELECT 1 FROM grants g WHERE g.connector_id = r.connector_id AND g.entitlement_key = r.entitlement_key
                        AND g.principal_external_id = r.principal_external_id AND g.direct AND g.expires_at = r.expires_at) AS grant_left
       FROM access_requests r
       WHERE r.connector_id = $1 AND r.expires_at IS NOT NULL AND r.expires_at <= now() AND r.status IN ('ACTIVE', 'EXPIRED')`,
      [ctx.cluster.connectorId],
    );
    const wrong = rows.filter((r) => r.status !== 'EXPIRED' || r.grant_left);
    return {
      name: this.name,
      pass: wrong.length === 0,
      figures: { ended: rows.length, expired: rows.filter((r) => r.status === 'EXPIRED').length, wrong: wrong.length },
      examples: wrong.slice(0, 5),
    };
  },
};

export const cacheFresh: Invariant = {
  name: 'the response cache served no answer older than a grant reported SUCCEEDED',
  check(ctx) {
    const f = ctx.freshness;
    return Promise.resolve({
      name: this.name,
      // Some reads must have been judged, or the invariant proves nothing.
      pass: f.stale === 0 && f.fresh > 0,
      figures: {
        grantsFollowed: f.checked,
        freshReads: f.fresh,
        staleReads: f.stale,
        inconclusive: f.inconclusive,
        notFollowed: f.notChecked,
      },
      examples: f.examples,
    });
  },
};

export const INVARIANTS: Invariant[] = [
  syncExact,
  tasksFinal,
  oneAuditOutcome,
  graphWritesOnce,
  expiredRevoked,
  requestsProvisionedOnce,
  requestExpiryRevoked,
  reviewRemediationOnce,
  cacheFresh,
  noPartialSyncDeletes,
  readiness,
  noCrash,
];

/** Installed before the load starts: a log of deleted resources for noPartialSyncDeletes. */
export const DELETION_LOG_SQL = `
CREATE TABLE IF NOT EXISTS chaos_deleted_resources (connector_id uuid, external_id text, type text, at timestamptz DEFAULT now());
CREATE OR REPLACE FUNCTION chaos_log_resource_delete() RETURNS trigger AS $$
BEGIN
  INSERT INTO chaos_deleted_resources (connector_id, external_id, type) VALUES (OLD.connector_id, OLD.external_id, OLD.type);
  RETURN OLD;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS chaos_resource_delete ON resources;
CREATE TRIGGER chaos_resource_delete AFTER DELETE ON resources FOR EACH ROW EXECUTE FUNCTION chaos_log_resource_delete();
`;
