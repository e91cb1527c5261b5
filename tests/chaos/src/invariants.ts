import type { Kysely } from 'kysely';
import type { Database } from '@warden/database';
import type { TenantExport, WriteLogEntry } from '@warden/graph-emulator';
// The sync worker's own exactness comparison: one definition of "the database equals the tenant".
import { diffDatabase, expectedModel } from '@warden/sync-worker/testing';
import type { Cluster } from './cluster';
import type { FaultObservations } from './faults';
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
    const applied = new Map<string, number>();
    let membershipWrites = 0;
    let otherWrites = 0;
    for (const w of ctx.writes) {
      if (w.status < 200 || w.status > 299) continue;
      const add = /^\/groups\/([^/]+)\/members\/\$ref$/.exec(w.path);
      const del = /^\/groups\/([^/]+)\/members\/([^/]+)\/\$ref$/.exec(w.path);
      let key: string | null = null;
      if (add && w.method === 'POST') {
        const user = /directoryObjects\/([^"/]+)/.exec(w.body ?? '')?.[1];
        if (user) key = `GRANT:${add[1]}:${user}`;
      } else if (del && w.method === 'DELETE') key = `REVOKE:${del[1]}:${del[2]}`;
      if (key) {
        membershipWrites++;
        applied.set(key, (applied.get(key) ?? 0) + 1);
      } else otherWrites++;
    }
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

export const INVARIANTS: Invariant[] = [
  syncExact,
  tasksFinal,
  oneAuditOutcome,
  graphWritesOnce,
  expiredRevoked,
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
