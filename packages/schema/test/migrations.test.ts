import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, migrateToLatest } from '../src/db';
import { appendAudit } from '../src/audit';
import { TEST_ADMIN_DATABASE_URL, uniqueName } from '../src/testing';

const name = uniqueName('warden_mig').toLowerCase();
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

describe('migrations', () => {
  it('apply once when several services migrate at the same moment', async () => {
    await admin(`CREATE DATABASE ${name}`);
    const dbs = Array.from({ length: 4 }, () => createDb({ connectionString: url.toString(), max: 2 }));
    const applied = await Promise.all(dbs.map((db) => migrateToLatest(db)));
    // Exactly one caller applied the initial migration; the others found it done.
    expect(applied.flat()).toEqual(['0001_initial']);
    const tables = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`.execute(dbs[0]!);
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['connectors', 'resources', 'entitlements', 'grants', 'sync_runs', 'delta_state',
        'provisioning_tasks', 'audit_events', 'connector_logs', 'admin_consent_states']),
    );
    await Promise.all(dbs.map((db) => db.destroy()));
  });

  it('keeps the audit log append-only and allows one active sync run per connector', async () => {
    const db = createDb({ connectionString: url.toString(), max: 2 });
    await migrateToLatest(db);
    const c = await db.insertInto('connectors').values({ display_name: 'c', auth_method: 'CLIENT_SECRET' })
      .returning('id').executeTakeFirstOrThrow();
    await appendAudit(db, { actor: 'alice', action: 'connector.created', connectorId: c.id, details: { a: 1 } });
    await expect(db.updateTable('audit_events').set({ actor: 'mallory' }).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
    const rows = await db.selectFrom('audit_events').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details).toEqual({ a: 1 });

    await db.insertInto('sync_runs').values({ connector_id: c.id, mode: 'FULL', stats: '{}', checkpoint: '{}' }).execute();
    await expect(
      db.insertInto('sync_runs').values({ connector_id: c.id, mode: 'INCREMENTAL', stats: '{}', checkpoint: '{}' }).execute(),
    ).rejects.toThrow(/sync_runs_one_active_idx/);
    // Deleting the connector removes its data but not its audit trail.
    await db.deleteFrom('connectors').where('id', '=', c.id).execute();
    expect(await db.selectFrom('sync_runs').selectAll().execute()).toHaveLength(0);
    expect(await db.selectFrom('audit_events').selectAll().execute()).toHaveLength(1);
    await db.destroy();
  });
});
