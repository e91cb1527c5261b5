import { sql, type Kysely } from 'kysely';

// Browser sign-in through the gateway (backend-for-frontend, apps/gateway/src/auth/browser.ts):
// - browser_logins: one row per `GET /auth/login`, keyed by the OAuth `state`; holds the nonce and the
//   PKCE code_verifier (sealed) and the sha256 of the httpOnly cookie that binds it to the browser.
//   Single use (used_at), short-lived (expires_at).
// - browser_sessions: one row per signed-in browser, keyed by the sha256 of the session cookie (the
//   cookie value itself is never stored); the caller's claims, the provider's tokens sealed with
//   SecretBox (never sent to the browser), the access token's expiry, idle and absolute deadlines.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE browser_logins (
      state text PRIMARY KEY,
      binding_hash text NOT NULL,
      nonce text NOT NULL,
      code_verifier text NOT NULL,
      return_to text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX browser_logins_expires_at ON browser_logins (expires_at)`.execute(db);
  await sql`
    CREATE TABLE browser_sessions (
      id_hash text PRIMARY KEY,
      subject text NOT NULL,
      role text NOT NULL,
      tid text,
      oid text,
      name text,
      access_token text NOT NULL,
      refresh_token text,
      id_token text,
      access_expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      absolute_expires_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX browser_sessions_absolute_expires_at ON browser_sessions (absolute_expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS browser_sessions`.execute(db);
  await sql`DROP TABLE IF EXISTS browser_logins`.execute(db);
}
