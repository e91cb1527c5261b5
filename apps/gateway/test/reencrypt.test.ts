import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, openCredentials, sealCredentials } from '@warden/service-kit';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { reencryptSecrets } from '../src/modules/connectors/reencrypt';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('warden_gw_keys');
});
afterAll(async () => t?.drop());

describe('key rotation', () => {
  it('re-seals secrets under the new first key, keeps them readable, audits, and is idempotent', async () => {
    const oldKey = `old:${randomBytes(32).toString('base64')}`;
    const newKey = `new:${randomBytes(32).toString('base64')}`;
    const before = SecretBox.fromConfig(oldKey);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.db
        .insertInto('connectors')
        .values({ display_name: `c${i}`, auth_method: 'CLIENT_SECRET' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await t.db
        .updateTable('connectors')
        .set({ secret_ciphertext: sealCredentials(before, r.id, { kind: 'secret', clientSecret: `s${i}` }) })
        .where('id', '=', r.id)
        .execute();
      ids.push(r.id);
    }
    // Step 1 of the procedure: the new key first, the old one still listed.
    const during = SecretBox.fromConfig(`${newKey},${oldKey}`);
    expect(await reencryptSecrets(t.db, during)).toEqual({ reencrypted: 3, failed: [] });
    expect(await reencryptSecrets(t.db, during)).toEqual({ reencrypted: 0, failed: [] });
    // Step 3: the old key can go.
    const after = SecretBox.fromConfig(newKey);
    const rows = await t.db
      .selectFrom('connectors')
      .select(['id', 'secret_ciphertext'])
      .where('id', 'in', ids)
      .orderBy('display_name')
      .execute();
    expect(rows.map((r) => openCredentials(after, r.id, r.secret_ciphertext!))).toEqual(
      [0, 1, 2].map((i) => ({ kind: 'secret', clientSecret: `s${i}` })),
    );
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', '=', 'connector.secret_reencrypted')
      .execute();
    expect(audit).toHaveLength(3);
    expect(audit[0]!.details).toEqual({ fromKey: 'old', toKey: 'new' });
  });
});
