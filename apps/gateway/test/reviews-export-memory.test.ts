import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBus, type TestBus } from '@warden/bus/testing';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { mintToken } from '../src/auth/jwt';

/**
 * The evidence export in bounded memory, proven: a campaign whose CSV is about twice as large as
 * the V8 heap the gateway is allowed (`--max-old-space-size`) streams completely from the deployable
 * gateway process. A gateway that buffered the file (or a growing part of it) would die with
 * "JavaScript heap out of memory" before the last row.
 */
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
const ITEMS = 80_000;
/** Each item carries a decision comment this long: the file is ITEMS × ~1.65 kB ≈ 126 MB, twice the heap. */
const COMMENT_CHARS = 1_500;
const HEAP_MB = 64;

let tdb: TestDatabase;
let bus: TestBus;
let gateway: ChildProcess | undefined;
let stderr = '';
let origin = '';
let token = '';
let reviewId = '';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The n-th item's id: ascending with n, as the export's keyset order. */
const itemId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

beforeAll(async () => {
  tdb = await createTestDatabase('warden_gw_export_mem');
  bus = await createTestBus();
  const db = tdb.db;
  const connector = await db
    .insertInto('connectors')
    .values({ display_name: 'Big', tenant_id: 't-big', auth_method: 'CLIENT_SECRET', owners: [] })
    .returning('id')
    .executeTakeFirstOrThrow();
  const review = await db
    .insertInto('access_reviews')
    .values({
      connector_id: connector.id,
      name: 'large campaign',
      reviewers: 'USERS',
      fallback_subjects: ['auditor'],
      due_at: new Date(Date.now() + 86_400_000),
      auto_revoke: false,
      undecided: 'KEEP',
      inactive_days: 30,
      scope: JSON.stringify({ entitlementIds: [], resourceTypes: ['GROUP'] }),
      created_by: 'root',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  reviewId = review.id;
  // The rows the export joins (principal, entitlement) are left joins: items alone make the file.
  await sql`
    INSERT INTO access_review_items (id, review_id, connector_id, entitlement_id, entitlement_key, principal_id,
      principal_external_id, principal_kind, reviewer_subjects, reviewer_keys, recommendation, recommendation_reason,
      decision, decided_by, decided_at, comment)
    SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, ${reviewId}::uuid, ${connector.id}::uuid,
      gen_random_uuid(), 'GROUP:g' || (n % 500) || ':member', gen_random_uuid(), 'user-' || n, 'USER',
      ARRAY['auditor'], ARRAY['s:auditor'], 'KEEP', 'signed in 3 days ago', 'KEEP', 'auditor', now(),
      'item ' || n || ' ' || repeat('x', ${COMMENT_CHARS})
    FROM generate_series(0, ${ITEMS - 1}) n`.execute(db);

  const secret = randomBytes(32).toString('base64url');
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  gateway = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: tdb.url,
      NATS_URL: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
      BUS_NAMESPACE: bus.namespace,
      WARDEN_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      AUTH_JWT_SECRET: secret,
      NODE_ENV: 'development',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RESPONSE_CACHE_MB: '0',
      CONSOLE_DIR: 'none',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  gateway.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (gateway.exitCode !== null) throw new Error(`gateway exited: ${stderr}`);
    const ready = await fetch(`${origin}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`gateway did not come up: ${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  token = await mintToken({ secret, issuer: 'warden', audience: 'warden' }, { sub: 'root', role: 'SUPER_ADMIN' });
}, 240_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((r) => gateway!.once('exit', r));
    gateway.kill('SIGTERM');
    await exited;
  }
  await bus?.destroy();
  await tdb?.drop();
});

describe('GET /exports/access-reviews/{id}.csv from a gateway with a capped heap', () => {
  it(`streams every one of ${ITEMS} items (a file about twice the ${HEAP_MB} MB heap) in order, and the gateway lives on`, async () => {
    const res = await fetch(`${origin}/exports/access-reviews/${reviewId}.csv`, { headers: { authorization: `Bearer ${token}` } }).catch(
      (err: unknown) => {
        throw new Error(`the export failed (${String(err)}); the gateway said: ${stderr}`);
      },
    );
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let bytes = 0;
    let rest = '';
    let header: string | null = null;
    let rows = 0;
    const wrong: string[] = [];
    // Every line is checked as it arrives (nothing kept): the n-th row is the n-th item, complete.
    const line = (l: string) => {
      if (header === null) return void (header = l);
      const [id, , , externalId] = l.split(',');
      if (id !== itemId(rows) || externalId !== `user-${rows}` || !l.includes(`item ${rows} x`)) wrong.push(l.slice(0, 120));
      rows++;
    };
    for (;;) {
      const { done, value } = await reader.read().catch((err: unknown) => {
        throw new Error(`the export broke off after ${rows} rows (${String(err)}); the gateway said: ${stderr}`);
      });
      if (done) break;
      bytes += value.byteLength;
      const parts = (rest + decoder.decode(value, { stream: true })).split('\n');
      rest = parts.pop()!;
      for (const l of parts) line(l);
    }
    if (rest) line(rest);
    expect(header).toMatch(/^item_id,principal,principal_type,principal_external_id,/);
    expect(wrong.slice(0, 3)).toEqual([]);
    expect(rows).toBe(ITEMS);
    // The file really is larger than the heap could hold (so buffering it would have crashed).
    expect(bytes).toBeGreaterThan(HEAP_MB * 1024 * 1024 * 1.5);
    expect(gateway!.exitCode).toBeNull();
    expect(stderr).not.toMatch(/heap out of memory/i);
    // Still answering after the export.
    expect((await fetch(`${origin}/readyz`)).ok).toBe(true);
    const rssPeakMB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${gateway!.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    process.stderr.write(`export: ${rows} rows, ${(bytes / 1048576).toFixed(1)} MB, gateway peak RSS ${rssPeakMB.toFixed(0)} MB\n`);
  }, 240_000);
});
