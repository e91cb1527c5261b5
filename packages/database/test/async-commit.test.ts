import { sql, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../src/db';
import type { Database } from '../src/database';
import { createTestDatabase, type TestDatabase } from '../src/testing';

let tdb: TestDatabase | undefined;
const dbs: Kysely<Database>[] = [];
afterAll(async () => {
  for (const db of dbs) await db.destroy();
  await tdb?.drop();
});

/** synchronous_commit as each of `n` connections held at once sees it. */
async function settingsOf(db: Kysely<Database>, n: number): Promise<string[]> {
  const held: Promise<string>[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  for (let i = 0; i < n; i++)
    held.push(
      db.connection().execute(async (conn) => {
        const v = (await sql<{ synchronous_commit: string }>`SHOW synchronous_commit`.execute(conn)).rows[0]!.synchronous_commit;
        await gate;
        return v;
      }),
    );
  setTimeout(release, 50);
  return Promise.all(held);
}

describe('asyncCommit', () => {
  it('turns synchronous_commit off on every connection of that pool only', async () => {
    tdb = await createTestDatabase('async_commit');
    const asyncDb = createDb({ connectionString: tdb.url, max: 3, applicationName: 'warden-async-test', asyncCommit: true });
    const plainDb = createDb({ connectionString: tdb.url, max: 3, applicationName: 'warden-plain-test' });
    dbs.push(asyncDb, plainDb);
    expect(await settingsOf(asyncDb, 3)).toEqual(['off', 'off', 'off']);
    expect(await settingsOf(plainDb, 3)).toEqual(['on', 'on', 'on']);
    // Inside a transaction too (the sync's batches commit there).
    const inTx = await asyncDb
      .transaction()
      .execute(async (tx) => (await sql<{ s: string }>`SELECT current_setting('synchronous_commit') AS s`.execute(tx)).rows[0]!.s);
    expect(inTx).toBe('off');
  });
});
