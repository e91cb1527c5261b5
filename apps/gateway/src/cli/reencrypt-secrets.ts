import { z } from 'zod';
import { createDb } from '@warden/database';
import { SecretBox } from '@warden/service-kit';
import { reencryptSecrets } from '../modules/connectors/reencrypt';

/** `npm run -w @warden/gateway reencrypt-secrets` with DATABASE_URL and WARDEN_SECRET_KEYS (new key first). */
const env = z.object({ DATABASE_URL: z.string().min(1), WARDEN_SECRET_KEYS: z.string().min(1) }).safeParse(process.env);
if (!env.success) {
  process.stderr.write(`set ${env.error.issues.map((i) => i.path.join('.')).join(', ')}\n`);
  process.exit(2);
}
const db = createDb({ connectionString: env.data.DATABASE_URL, max: 2, applicationName: 'warden-reencrypt' });
try {
  const box = SecretBox.fromConfig(env.data.WARDEN_SECRET_KEYS);
  const r = await reencryptSecrets(db, box, 'reencrypt-secrets');
  process.stdout.write(`${JSON.stringify({ currentKey: box.currentKeyId, ...r })}\n`);
  process.exitCode = r.failed.length ? 1 : 0;
} finally {
  await db.destroy();
}
