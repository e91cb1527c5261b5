import { sql, type Kysely } from 'kysely';
import type { Database, ProvisioningTaskRow } from '@warden/database';

/** Advisory-lock namespace of provisioning tasks (two-key form, so it never meets one-key locks). */
export const LOCK_SPACE = 0x70726f76; // 'prov'

/**
 * A session advisory lock on the task, held on the connection that runs it. Postgres drops it the
 * moment that connection dies (process killed, network gone), which is how another replica learns
 * that a RUNNING task has no live owner — no lease column, no clock.
 */
export async function tryLockTask(conn: Kysely<Database>, taskId: string): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${LOCK_SPACE}, hashtext(${taskId})) AS locked`.execute(conn);
  return rows[0]?.locked === true;
}

export async function unlockTask(conn: Kysely<Database>, taskId: string): Promise<void> {
  await sql`SELECT pg_advisory_unlock(${LOCK_SPACE}, hashtext(${taskId}))`.execute(conn);
}

export type Claim =
  | { kind: 'claimed'; task: ProvisioningTaskRow; fromStatus: 'PENDING' | 'RUNNING' }
  | { kind: 'done' }
  | { kind: 'waiting'; blockedBy: string };

/**
 * Moves the task to RUNNING (attempt + 1) with one conditional UPDATE: only while it is PENDING or
 * RUNNING without an owner (the caller holds its lock) and only when no earlier task (lower seq) of
 * the same (entitlement, principal) is still open — grant and revoke apply in request order.
 */
export async function claimTask(conn: Kysely<Database>, taskId: string): Promise<Claim> {
  const before = await conn.selectFrom('provisioning_tasks').select(['status']).where('id', '=', taskId).executeTakeFirst();
  if (!before || before.status === 'SUCCEEDED' || before.status === 'FAILED') return { kind: 'done' };
  const claimed = await conn
    .updateTable('provisioning_tasks as t')
    .set((eb) => ({
      status: 'RUNNING',
      attempt: eb('t.attempt', '+', 1),
      started_at: sql`coalesce(t.started_at, now())`,
    }))
    .where('t.id', '=', taskId)
    .where('t.status', 'in', ['PENDING', 'RUNNING'])
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('provisioning_tasks as p')
            .select('p.id')
            .whereRef('p.connector_id', '=', 't.connector_id')
            .whereRef('p.entitlement_key', '=', 't.entitlement_key')
            .whereRef('p.principal_external_id', '=', 't.principal_external_id')
            .whereRef('p.seq', '<', 't.seq')
            .where('p.status', 'in', ['PENDING', 'RUNNING']),
        ),
      ),
    )
    .returningAll()
    .executeTakeFirst();
  if (claimed) return { kind: 'claimed', task: claimed, fromStatus: before.status };

  const now = await conn.selectFrom('provisioning_tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
  if (!now || now.status === 'SUCCEEDED' || now.status === 'FAILED') return { kind: 'done' };
  const blocker = await conn
    .selectFrom('provisioning_tasks')
    .select('id')
    .where('connector_id', '=', now.connector_id)
    .where('entitlement_key', '=', now.entitlement_key)
    .where('principal_external_id', '=', now.principal_external_id)
    .where('seq', '<', now.seq)
    .where('status', 'in', ['PENDING', 'RUNNING'])
    .orderBy('seq')
    .executeTakeFirst();
  return { kind: 'waiting', blockedBy: blocker?.id ?? 'unknown' };
}
