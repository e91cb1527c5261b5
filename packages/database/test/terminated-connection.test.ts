import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../src/db';
import { createTestDatabase, type TestDatabase } from '../src/testing';

let tdb: TestDatabase | undefined;
afterAll(async () => {
  await tdb?.drop();
});

describe('a held connection ended by the server', () => {
  it('fails its next query instead of crashing the process (pg_terminate_backend between queries)', async () => {
    tdb = await createTestDatabase('terminated');
    const errors: Error[] = [];
    const db = createDb({
      connectionString: tdb.url,
      max: 2,
      applicationName: 'warden-terminated-test',
      onIdleError: (e) => errors.push(e),
    });
    const admin = new pg.Client({ connectionString: tdb.url });
    await admin.connect();
    try {
      const outcome = await db
        .connection()
        .execute(async (conn) => {
          const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn);
          // Held, no query in flight (as a task's lock session during a Graph call), when the server ends it.
          await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
          const deadline = Date.now() + 10_000;
          while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          await sql`SELECT 1`.execute(conn);
          return 'query worked';
        })
        .catch((err: unknown) => `query failed: ${(err as Error).message}`);
      expect(outcome).toMatch(/^query failed/);
      expect(errors.length).toBeGreaterThan(0);
      // The pool goes on with a fresh connection.
      expect((await sql<{ ok: number }>`SELECT 1 AS ok`.execute(db)).rows).toEqual([{ ok: 1 }]);
    } finally {
      await admin.end();
      await db.destroy();
    }
  });
});
