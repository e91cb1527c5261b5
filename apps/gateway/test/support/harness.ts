import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { createTestBus, type TestBus } from '@warden/bus/testing';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { type Database } from '@warden/database';
import { SecretBox } from '@warden/service-kit';
import { mintToken } from '../../src/auth/jwt';
import type { CallerRole } from '../../src/auth/roles';
import { seedTenant, type Fixture } from './fixture';
import { startGateway, type GatewayOverrides, type RunningGateway } from '../../src/server';

export const JWT_SECRET = randomBytes(32).toString('base64url');
export const SECRET_KEYS = `t1:${randomBytes(32).toString('base64')}`;
export const box = SecretBox.fromConfig(SECRET_KEYS);

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string; [k: string]: unknown } }>;
}

export interface Harness {
  gateway: RunningGateway;
  db: Kysely<Database>;
  testDb: TestDatabase;
  testBus: TestBus;
  /** An HS256 development token; `claims` adds tid / oid / name. */
  token(role: CallerRole, sub: string, claims?: { tid?: string; oid?: string; name?: string }): Promise<string>;
  gql<T = Record<string, unknown>>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export async function startHarness(
  env: Record<string, string> = {},
  overrides: Omit<GatewayOverrides, 'bus'> & { dbFactory?: (url: string) => Kysely<Database> } = {},
): Promise<Harness> {
  const testDb = await createTestDatabase('warden_gw');
  const testBus = await createTestBus();
  const db = overrides.dbFactory ? overrides.dbFactory(testDb.url) : undefined;
  const gateway = await startGateway(
    {
      DATABASE_URL: testDb.url,
      NATS_URL: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
      BUS_NAMESPACE: testBus.namespace,
      WARDEN_SECRET_KEYS: SECRET_KEYS,
      AUTH_JWT_SECRET: JWT_SECRET,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      // Whether apps/web/dist happens to be built must not change what these tests see.
      CONSOLE_DIR: 'none',
      ...env,
    },
    { logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }), ...overrides, ...(db ? { db } : {}), bus: testBus.bus },
  );
  return {
    gateway,
    db: db ?? testDb.db,
    testDb,
    testBus,
    token: (role, sub, claims = {}) => mintToken({ secret: JWT_SECRET, issuer: 'warden' }, { sub, role, ...claims }),
    async gql<T>(token: string | null, query: string, variables: Record<string, unknown> = {}) {
      // Tests write rows straight into the database and read them back at once; a real client learns
      // of changes through an event, later than the change feed does.
      await gateway.caughtUp();
      const r = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await r.json()) as Omit<GqlResult<T>, 'status'>;
      return { status: r.status, ...body };
    },
    async close() {
      await gateway.close();
      if (db) await db.destroy();
      await testBus.destroy();
      await testDb.drop();
    },
  };
}

/**
 * A harness whose gateway sends its SQL through a Kysely that records every statement, for tests
 * that count round trips, with a seeded tenant of `userCount` users and a VIEWER token.
 * `statements` is the live list; tests empty it before what they measure.
 */
export async function startCountingHarness(
  userCount: number,
  env: Record<string, string> = {},
): Promise<{ h: Harness; statements: string[]; f: Fixture; token: string; run: CountedRun }> {
  const statements: string[] = [];
  const h = await startHarness(env, {
    dbFactory: (url) =>
      new Kysely<Database>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 5 }) }),
        log: (e) => {
          if (e.level === 'query') statements.push(e.query.sql);
        },
      }),
  });
  const f = await seedTenant(h.db, { userCount });
  const token = await h.token('VIEWER', 'vera');
  const run: CountedRun = async <T>(query: string, variables: Record<string, unknown>) => {
    statements.length = 0;
    const r = await h.gql<T>(token, query, variables);
    if (r.errors) throw new Error(`unexpected GraphQL errors: ${JSON.stringify(r.errors)}`);
    return { data: r.data as T, statements: [...statements] };
  };
  return { h, statements, f, token, run };
}

/** One query as the harness's viewer, failing on any GraphQL error, with the SQL statements it ran. */
export type CountedRun = <T>(query: string, variables: Record<string, unknown>) => Promise<{ data: T; statements: string[] }>;
