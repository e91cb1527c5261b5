import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, migrateToLatest } from '../src/db';
import { CHANGE_CHANNEL, parseChangePayload, SERVED_TABLES } from '../src/change-channel';
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

async function pgClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  return c;
}

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

describe('migrations', () => {
  it('apply once when several services migrate at the same moment', async () => {
    await admin(`CREATE DATABASE ${name}`);
    const dbs = Array.from({ length: 4 }, () => createDb({ connectionString: url.toString(), max: 2 }));
    const applied = await Promise.all(dbs.map((db) => migrateToLatest(db)));
    // Exactly one caller applied each migration; the others found them done.
    expect(applied.flat()).toEqual([
      '0001_initial',
      '0002_change_notifications',
      '0003_oauth_consent',
      '0004_provisioning_keys',
      '0005_audit_hardening',
      '0006_browser_sessions',
      '0007_notifications',
      '0008_access_requests',
      '0009_access_reviews',
      '0010_review_items_bulk',
      '0011_change_notifications_per_connector',
      '0012_sync_rows_bulk',
      '0013_resources_search_covering',
      '0014_review_items_id_default',
      '0015_provisioning_revokes_recent',
      '0016_resources_signin_hot',
      '0017_grant_change_keys',
      '0018_resource_gram_counts',
      '0019_gram_counts_from_writer',
    ]);
    const tables = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`.execute(dbs[0]!);
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        'connectors',
        'resources',
        'entitlements',
        'grants',
        'sync_runs',
        'delta_state',
        'provisioning_tasks',
        'audit_events',
        'connector_logs',
        'admin_consent_states',
        'browser_logins',
        'browser_sessions',
        'notifications',
        'notification_deliveries',
        'access_reviews',
        'access_review_items',
        'access_policies',
        'access_requests',
        'access_request_decisions',
      ]),
    );
    await Promise.all(dbs.map((db) => db.destroy()));
  });

  it('gives every connector one default access policy and allows one open request per entitlement and principal', async () => {
    const db = createDb({ connectionString: url.toString(), max: 2 });
    await migrateToLatest(db);
    const c = await db
      .insertInto('connectors')
      .values({ display_name: 'p', auth_method: 'CLIENT_SECRET' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const policies = await db.selectFrom('access_policies').selectAll().where('connector_id', '=', c.id).execute();
    expect(policies).toHaveLength(1);
    expect(policies[0]).toMatchObject({
      entitlement_id: null,
      requestable: false,
      steps: [],
      max_duration_seconds: null,
      require_duration: false,
    });
    await expect(db.insertInto('access_policies').values({ connector_id: c.id }).execute()).rejects.toThrow(/access_policies_default/);
    const open = {
      connector_id: c.id,
      entitlement_id: '00000000-0000-0000-0000-000000000001',
      entitlement_key: 'GROUP:g:member',
      principal_id: '00000000-0000-0000-0000-000000000002',
      principal_external_id: 'u',
      requested_by: 'alice',
      justification: 'j',
      steps: '[]',
      current_step: 0,
    };
    await db.insertInto('access_requests').values(open).execute();
    await expect(db.insertInto('access_requests').values(open).execute()).rejects.toThrow(/access_requests_open/);
    // PENDING exactly when a step waits.
    await expect(
      db
        .insertInto('access_requests')
        .values({ ...open, status: 'DENIED' })
        .execute(),
    ).rejects.toThrow(/check/);
    await db.destroy();
  });

  it('keeps the audit log append-only and allows one active sync run per connector', async () => {
    const db = createDb({ connectionString: url.toString(), max: 2 });
    await migrateToLatest(db);
    const c = await db
      .insertInto('connectors')
      .values({ display_name: 'c', auth_method: 'CLIENT_SECRET' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('audit_events')
      .values({ actor: 'alice', action: 'connector.created', connector_id: c.id, details: JSON.stringify({ a: 1 }) })
      .execute();
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

  it('keeps resources, entitlements and grants tied to an existing connector without per-row foreign keys', async () => {
    const db = createDb({ connectionString: url.toString(), max: 3 });
    await migrateToLatest(db);
    const [a, b] = await Promise.all(
      ['a', 'b'].map(
        async (name) =>
          (
            await db
              .insertInto('connectors')
              .values({ display_name: name, auth_method: 'CLIENT_SECRET' })
              .returning('id')
              .executeTakeFirstOrThrow()
          ).id,
      ),
    );
    const rowsOf = async (c: string) => {
      await db.insertInto('resources').values({ connector_id: c, type: 'GROUP', external_id: 'g1' }).execute();
      await db
        .insertInto('entitlements')
        .values({
          connector_id: c,
          key: 'GROUP:g1:member',
          resource_external_id: 'g1',
          resource_type: 'GROUP',
          slug: 'member',
          display_name: 'm',
        })
        .execute();
      await db
        .insertInto('grants')
        .values(
          ['u1', 'u2'].map((p) => ({
            connector_id: c,
            entitlement_key: 'GROUP:g1:member',
            principal_external_id: p,
            principal_kind: 'USER',
            direct: true,
          })),
        )
        .execute();
    };
    await rowsOf(a!);
    await rowsOf(b!);
    const missing = '00000000-0000-0000-0000-00000000dead';
    // One statement with a row of an unknown connector fails as a whole, with the foreign key's code.
    for (const insert of [
      db.insertInto('resources').values([
        { connector_id: a!, type: 'GROUP', external_id: 'g2' },
        { connector_id: missing, type: 'GROUP', external_id: 'g2' },
      ]),
      db
        .insertInto('grants')
        .values({ connector_id: missing, entitlement_key: 'k', principal_external_id: 'p', principal_kind: 'USER', direct: true }),
    ])
      await expect(insert.execute()).rejects.toMatchObject({ code: '23503' });
    await expect(
      db.updateTable('entitlements').set({ connector_id: missing }).where('connector_id', '=', a!).execute(),
    ).rejects.toMatchObject({
      code: '23503',
    });
    expect(await db.selectFrom('resources').select('external_id').where('connector_id', '=', a!).execute()).toEqual([
      { external_id: 'g1' },
    ]);

    // A writer holding new rows of a connector makes its deletion wait, and the deletion then removes them too.
    const writer = await pgClient();
    await writer.query('BEGIN');
    await writer.query(
      `INSERT INTO grants (connector_id, entitlement_key, principal_external_id, principal_kind, direct) VALUES ($1, 'GROUP:g1:member', 'u3', 'USER', true)`,
      [a],
    );
    let deleted = false;
    const deletion = db
      .deleteFrom('connectors')
      .where('id', '=', a!)
      .execute()
      .then(() => (deleted = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(deleted).toBe(false);
    await writer.query('COMMIT');
    await writer.end();
    await deletion;
    for (const table of ['resources', 'entitlements', 'grants'] as const) {
      const left = await db.selectFrom(table).select('connector_id').distinct().execute();
      expect(left).toEqual([{ connector_id: b }]);
    }
    // Grants ids are time-ordered: a later insert sorts after an earlier one.
    const first = await db
      .insertInto('grants')
      .values({ connector_id: b!, entitlement_key: 'GROUP:g1:member', principal_external_id: 'u8', principal_kind: 'USER', direct: true })
      .returning('id')
      .executeTakeFirstOrThrow();
    await new Promise((r) => setTimeout(r, 5));
    const second = await db
      .insertInto('grants')
      .values({ connector_id: b!, entitlement_key: 'GROUP:g1:member', principal_external_id: 'u9', principal_kind: 'USER', direct: true })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(second.id > first.id).toBe(true);
    expect(first.id[14]).toBe('7');
    await db.destroy();
  });

  it('refuses TRUNCATE of the audit log (also with CASCADE and inside a transaction); dropping the database still works', async () => {
    const db = createDb({ connectionString: url.toString(), max: 2 });
    try {
      await migrateToLatest(db);
      await db
        .insertInto('audit_events')
        .values({ actor: 'alice', action: 'connector.created', connector_id: null, details: JSON.stringify({ truncate: 'test' }) })
        .execute();
      const before = (await db.selectFrom('audit_events').select('id').execute()).length;
      expect(before).toBeGreaterThan(0);
      await expect(sql`TRUNCATE audit_events`.execute(db)).rejects.toThrow(/append-only: TRUNCATE is refused/);
      await expect(sql`TRUNCATE TABLE audit_events RESTART IDENTITY CASCADE`.execute(db)).rejects.toThrow(/TRUNCATE is refused/);
      // A TRUNCATE of several tables at once fails as a whole.
      await expect(sql`TRUNCATE connector_logs, audit_events`.execute(db)).rejects.toThrow(/TRUNCATE is refused/);
      await expect(
        db.transaction().execute(async (trx) => {
          await sql`TRUNCATE audit_events`.execute(trx);
        }),
      ).rejects.toThrow(/TRUNCATE is refused/);
      expect(await db.selectFrom('audit_events').select('id').execute()).toHaveLength(before);
    } finally {
      await db.destroy();
    }
    // Test teardown: a whole database with the trigger can still be dropped (afterAll drops `name`).
    const scratch = uniqueName('warden_trunc').toLowerCase();
    const scratchUrl = new URL(TEST_ADMIN_DATABASE_URL);
    scratchUrl.pathname = `/${scratch}`;
    await admin(`CREATE DATABASE ${scratch}`);
    const sdb = createDb({ connectionString: scratchUrl.toString(), max: 1 });
    await migrateToLatest(sdb);
    await sdb.insertInto('audit_events').values({ actor: 'a', action: 'x', connector_id: null, details: '{}' }).execute();
    await sdb.destroy();
    await admin(`DROP DATABASE ${scratch} WITH (FORCE)`);
  });

  it('announces every committed change to a served table with the connectors it touched, and nothing rolled back or unchanged', async () => {
    const db = createDb({ connectionString: url.toString(), max: 2 });
    const listener = new pg.Client({ connectionString: url.toString() });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => n.channel === CHANGE_CHANNEL && heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${CHANGE_CHANNEL}`);
    try {
      const c = await db
        .insertInto('connectors')
        .values({ display_name: 'N', auth_method: 'CLIENT_SECRET' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const d = await db
        .insertInto('connectors')
        .values({ display_name: 'M', auth_method: 'CLIENT_SECRET' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const user = (connector: string, i: number) =>
        ({ connector_id: connector, type: 'USER', external_id: `u${i}`, display_name: `U${i}`, profile: '{}', search_text: 'u' }) as const;
      await db.transaction().execute(async (trx) => {
        // Three statements on one table in one transaction: Postgres folds equal payloads into one notification.
        for (let i = 0; i < 3; i++) await trx.insertInto('resources').values(user(c.id, i)).execute();
      });
      // One statement over two connectors names both (in either order).
      await db
        .insertInto('resources')
        .values([user(c.id, 10), user(d.id, 10)])
        .execute();
      await db.transaction().execute(async (trx) => {
        // No row matches: nothing changed, nothing announced.
        await trx.updateTable('grants').set({ direct: true }).where('connector_id', '=', c.id).execute();
        await trx.updateTable('resources').set({ display_name: 'renamed' }).where('connector_id', '=', d.id).execute();
        await trx.deleteFrom('connectors').where('id', '=', d.id).execute();
      });
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.deleteFrom('resources').execute();
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      // A row without a connector, and TRUNCATE: every connector.
      await db.insertInto('audit_events').values({ actor: 'a', action: 'x', connector_id: null, details: '{}' }).execute();
      await sql`TRUNCATE connector_logs`.execute(db);
      await listener.query(`SELECT pg_notify('${CHANGE_CHANNEL}', 'end')`);
      await expect.poll(() => heard.at(-1)).toBe('end');
      const both = [c.id, d.id].sort().join(',');
      expect(heard).toEqual([
        `connectors:${c.id}`,
        `connectors:${d.id}`,
        `resources:${c.id}`,
        expect.stringMatching(new RegExp(`^resources:(${c.id},${d.id}|${d.id},${c.id})$`)),
        `resources:${d.id}`,
        // Deleting the connector cascades to its resources, announced as `resources:d` again and so folded.
        `connectors:${d.id}`,
        'audit_events',
        'connector_logs',
        'end',
      ]);
      expect(parseChangePayload(`resources:${both}`)).toEqual({ table: 'resources', connectors: both.split(',') });
      expect(parseChangePayload('audit_events')).toEqual({ table: 'audit_events', connectors: null });
      expect([...SERVED_TABLES]).toEqual(
        expect.arrayContaining([
          'connectors',
          'resources',
          'entitlements',
          'grants',
          'sync_runs',
          'provisioning_tasks',
          'audit_events',
          'connector_logs',
        ]),
      );
    } finally {
      await listener.end();
      await db.destroy();
    }
  });

  it('names repeated SELECTs as prepared statements when asked to, and only SELECTs', async () => {
    const db = createDb({ connectionString: url.toString(), max: 1, preparedStatements: 10 });
    try {
      for (let i = 0; i < 3; i++) await db.selectFrom('connectors').select('id').where('display_name', '=', `x${i}`).execute();
      await db.updateTable('connectors').set({ status_message: null }).where('display_name', '=', 'none').execute();
      const prepared = await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(db);
      const texts = prepared.rows.map((r) => r.statement);
      expect(texts.filter((t) => t.startsWith('select "id" from "connectors"'))).toHaveLength(1);
      expect(texts.some((t) => t.startsWith('update'))).toBe(false);
    } finally {
      await db.destroy();
    }
    const plain = createDb({ connectionString: url.toString(), max: 1 });
    try {
      await plain.selectFrom('connectors').select('id').execute();
      expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_prepared_statements`.execute(plain)).rows[0]!.n).toBe(0);
    } finally {
      await plain.destroy();
    }
  });
});
