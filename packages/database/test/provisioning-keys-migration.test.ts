import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, migrateToLatest } from '../src/db';
import type { Database } from '../src/database';
import * as m0001 from '../src/migrations/0001_initial';
import * as m0002 from '../src/migrations/0002_change_notifications';
import { TEST_ADMIN_DATABASE_URL, uniqueName } from '../src/testing';

// Migration 0004 moves idempotency keys from one global namespace to (connector, namespace,
// requested_by). Rows written before it must keep working: a caller's key stays theirs, and the
// expiry revokes the system wrote become system keys (so the scan still finds them and does not
// queue a second revoke) — but a task a *caller* created under an `expiry:` key does not.

const name = uniqueName('warden_keys_mig').toLowerCase();
const url = new URL(TEST_ADMIN_DATABASE_URL);
url.pathname = `/${name}`;

async function admin(q: string) {
  const c = new pg.Client({ connectionString: TEST_ADMIN_DATABASE_URL });
  await c.connect();
  try {
    await c.query(q);
  } finally {
    await c.end();
  }
}

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

async function migrateTo0002(db: Kysely<Database>) {
  const migrations: Record<string, Migration> = { '0001_initial': m0001, '0002_change_notifications': m0002 };
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
  if (error) throw error;
}

describe('migration 0004_provisioning_keys', () => {
  it("turns existing keys into user keys of their requester, and the system's expiry revokes into system keys", async () => {
    await admin(`CREATE DATABASE ${name}`);
    const db = createDb({ connectionString: url.toString(), max: 2 });
    try {
      await migrateTo0002(db);
      const c = await db
        .insertInto('connectors')
        .values({ display_name: 'c', auth_method: 'CLIENT_SECRET' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const task = async (requestedBy: string, key: string, action: 'GRANT' | 'REVOKE', auditAction: string) => {
        // Written the way requestProvisioning wrote them before 0004: task and audit row together.
        const row = await sql<{ id: string }>`
          INSERT INTO provisioning_tasks (connector_id, action, entitlement_id, entitlement_key, principal_id, principal_external_id, requested_by, idempotency_key)
          VALUES (${c.id}::uuid, ${action}, gen_random_uuid(), 'GROUP:g:member', gen_random_uuid(), 'u1', ${requestedBy}, ${key})
          RETURNING id`.execute(db);
        const id = row.rows[0]!.id;
        // Rows as appendAudit (@warden/access-model) writes them; this package may not import it.
        await db
          .insertInto('audit_events')
          .values({
            actor: requestedBy,
            action: auditAction,
            connector_id: c.id,
            details: JSON.stringify({ taskId: id, idempotencyKey: key }),
          })
          .execute();
        return id;
      };
      const systemExpiry = await task('system', `expiry:${c.id}:GROUP:g:member:u1:1700000000000`, 'REVOKE', 'grant.expired');
      const userKey = await task('alice', 'req-1', 'GRANT', 'grant.requested');
      // A caller who took an expiry-shaped key (the attack), even with the token subject 'system'.
      const squatter = await task('mallory', `expiry:${c.id}:GROUP:g:member:u1:1800000000000`, 'GRANT', 'grant.requested');
      const subjectSystem = await task('system', `expiry:${c.id}:GROUP:g:member:u1:1900000000000`, 'REVOKE', 'revoke.requested');

      expect(await migrateToLatest(db)).toContain('0004_provisioning_keys');

      const rows = await db.selectFrom('provisioning_tasks').select(['id', 'namespace', 'requested_by']).execute();
      const ns = Object.fromEntries(rows.map((r) => [r.id, r.namespace]));
      expect(ns).toEqual({ [systemExpiry]: 'system', [userKey]: 'user', [squatter]: 'user', [subjectSystem]: 'user' });

      // The key is now unique per (connector, namespace, requester), not globally.
      const insert = (requestedBy: string, namespace: 'user' | 'system', key: string) =>
        db
          .insertInto('provisioning_tasks')
          .values({
            connector_id: c.id,
            action: 'GRANT',
            entitlement_id: c.id,
            entitlement_key: 'GROUP:g:member',
            principal_id: c.id,
            principal_external_id: 'u1',
            requested_by: requestedBy,
            namespace,
            idempotency_key: key,
          })
          .execute();
      await insert('bob', 'user', 'req-1'); // alice's key, another caller: a task of its own
      await expect(insert('alice', 'user', 'req-1')).rejects.toThrow(/provisioning_tasks_key_unique/);
      await insert('system', 'user', `expiry:${c.id}:GROUP:g:member:u1:1700000000000`); // a caller named 'system' is not the system
      await expect(insert('system', 'system', `expiry:${c.id}:GROUP:g:member:u1:1700000000000`)).rejects.toThrow(
        /provisioning_tasks_key_unique/,
      );
      await expect(insert('bob', 'nobody' as 'user', 'x')).rejects.toThrow(/check constraint/);
    } finally {
      await db.destroy();
    }
  });
});
