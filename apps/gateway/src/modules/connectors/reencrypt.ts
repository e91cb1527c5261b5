import { sql, type Kysely } from 'kysely';
import { appendAudit } from '@warden/access-model';
import { type Database } from '@warden/database';
import { openCredentials, sealCredentials, type SecretBox } from '@warden/service-kit';

/**
 * Key rotation, step 3: re-seals every connector secret that is not under the first (current) key.
 * Row by row under FOR UPDATE, so a concurrent credential update is never overwritten; safe to run
 * again (rows already under the current key are skipped).
 */
export async function reencryptSecrets(
  db: Kysely<Database>,
  box: SecretBox,
  actor = 'system',
): Promise<{ reencrypted: number; failed: string[] }> {
  const candidates = await db
    .selectFrom('connectors')
    .select(['id', 'secret_ciphertext'])
    .where('secret_ciphertext', 'is not', null)
    .execute();
  let reencrypted = 0;
  const failed: string[] = [];
  for (const c of candidates) {
    if (!c.secret_ciphertext || !box.needsRotation(c.secret_ciphertext)) continue;
    try {
      const done = await db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('connectors').select(['secret_ciphertext']).where('id', '=', c.id).forUpdate().executeTakeFirst();
        if (!row?.secret_ciphertext || !box.needsRotation(row.secret_ciphertext)) return false;
        const fromKey = row.secret_ciphertext.split(':')[1];
        const creds = openCredentials(box, c.id, row.secret_ciphertext);
        await trx
          .updateTable('connectors')
          .set({ secret_ciphertext: sealCredentials(box, c.id, creds), updated_at: sql`now()` })
          .where('id', '=', c.id)
          .execute();
        await appendAudit(trx, {
          actor,
          action: 'connector.secret_reencrypted',
          connectorId: c.id,
          details: { fromKey, toKey: box.currentKeyId },
        });
        return true;
      });
      if (done) reencrypted++;
    } catch {
      failed.push(c.id);
    }
  }
  return { reencrypted, failed };
}
