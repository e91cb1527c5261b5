import { sql, type Kysely } from 'kysely';

// OAUTH (admin-consent) connectors get their tenant only from a verified consent: the callback's
// state was begun by a platform user, opened in one browser (verifier cookie), and a token obtained
// for the tenant named the same organisation (`tid`). Connectors created before this migration have
// no verified consent and are not synced until an admin consents again.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE connectors
      ADD COLUMN consented_tenant_id text,
      ADD COLUMN consent_verified_at timestamptz`.execute(db);
  await sql`CREATE INDEX connectors_consented_tenant_idx ON connectors (lower(consented_tenant_id)) WHERE consented_tenant_id IS NOT NULL`.execute(
    db,
  );
  await sql`
    ALTER TABLE admin_consent_states
      ADD COLUMN verifier_hash text,
      ADD COLUMN started_at timestamptz,
      ADD COLUMN allow_shared_tenant boolean NOT NULL DEFAULT false`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE admin_consent_states DROP COLUMN IF EXISTS verifier_hash, DROP COLUMN IF EXISTS started_at, DROP COLUMN IF EXISTS allow_shared_tenant`.execute(
    db,
  );
  await sql`DROP INDEX IF EXISTS connectors_consented_tenant_idx`.execute(db);
  await sql`ALTER TABLE connectors DROP COLUMN IF EXISTS consent_verified_at, DROP COLUMN IF EXISTS consented_tenant_id`.execute(db);
}
