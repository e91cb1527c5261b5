import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestAccess, setAccessPolicy, type RequestDeps } from '@warden/access-model';
import { seededRandom } from '@warden/notifications';
import { parseEnvironment } from '../src';
import { createHarness, waitFor, type Harness } from './support/harness';

// The access-request timers in the worker process: configuration, and SIGKILL at any point of
// following approved grants and expiries loses no transition and doubles none.

const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('access-request timers', () => {
  it('reads APPROVAL_STEP_TIMEOUT and ACCESS_EXPIRY_NOTICE as durations (defaults 72 h and 24 h)', () => {
    expect(parseEnvironment({ ...h.env })).toMatchObject({ APPROVAL_STEP_TIMEOUT: 72 * 3_600_000, ACCESS_EXPIRY_NOTICE: 24 * 3_600_000 });
    expect(parseEnvironment({ ...h.env, APPROVAL_STEP_TIMEOUT: '30m', ACCESS_EXPIRY_NOTICE: '90' })).toMatchObject({
      APPROVAL_STEP_TIMEOUT: 1_800_000,
      ACCESS_EXPIRY_NOTICE: 90_000,
    });
    expect(() => parseEnvironment({ ...h.env, APPROVAL_STEP_TIMEOUT: 'soon' })).toThrow(/APPROVAL_STEP_TIMEOUT/);
  });

  it(`a worker killed at random points while following grants and expiries loses nothing and doubles nothing (seed ${SEED})`, async () => {
    const db = h.tdb.db;
    const random = seededRandom(SEED);
    const c = await db
      .insertInto('connectors')
      .values({ display_name: 'crash', auth_method: 'CLIENT_SECRET' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const e = await db
      .insertInto('entitlements')
      .values({
        connector_id: c.id,
        key: 'GROUP:g:member',
        resource_external_id: 'g',
        resource_type: 'GROUP',
        slug: 'member',
        display_name: 'member of G',
        metadata: '{}',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await setAccessPolicy(db, { subject: 'admin' }, { connectorId: c.id, entitlementId: e.id, requestable: true, steps: [] });
    const deps: RequestDeps = { db, bus: h.tbus.bus };
    const N = 120;
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const u = await db
        .insertInto('resources')
        .values({ connector_id: c.id, type: 'USER', external_id: `u${i}`, display_name: `user ${i}`, profile: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow();
      // Half time-bound for 2 s (they expire during the test), half for a day.
      const r = await requestAccess(
        deps,
        { subject: `requester-${i}`, oid: null },
        { entitlementId: e.id, principalId: u.id, justification: 'crash', durationSeconds: i % 2 ? 2 : 86_400 },
      );
      ids.push(r.id);
    }
    // What the provision worker does: every grant succeeded (task row + write-through grant)...
    await db
      .updateTable('provisioning_tasks')
      .set({ status: 'SUCCEEDED', completed_at: new Date() })
      .where('namespace', '=', 'system')
      .execute();
    const rows = await db
      .selectFrom('access_requests')
      .select(['principal_external_id', 'expires_at'])
      .where('connector_id', '=', c.id)
      .execute();
    await db
      .insertInto('grants')
      .values(
        rows.map((r) => ({
          connector_id: c.id,
          entitlement_key: 'GROUP:g:member',
          principal_external_id: r.principal_external_id,
          principal_kind: 'USER' as const,
          direct: true,
          expires_at: r.expires_at,
          source: 'provisioning' as const,
        })),
      )
      .execute();
    const created = Date.now();
    // Worker processes killed with SIGKILL after a random moment, one after another.
    for (let round = 0; round < 6; round++) {
      if (round === 3) {
        // ...and, once the short ones expired, its expiry scan revoked them (their grant rows go).
        await new Promise((r) => setTimeout(r, Math.max(0, created + 2_500 - Date.now())));
        await db
          .deleteFrom('grants')
          .where('connector_id', '=', c.id)
          .where('expires_at', '<', new Date(Date.now() + 60_000))
          .execute();
      }
      // node itself with the tsx loader: SIGKILL kills the worker, not a tsx wrapper that would leave it running.
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: APP,
        env: {
          PATH: process.env.PATH,
          ...h.env,
          LOG_LEVEL: 'info',
          ACCESS_REQUEST_FOLLOW_INTERVAL: '50ms',
          ACCESS_REQUEST_TIMER_INTERVAL: '50ms',
          NOTIFY_LOG: 'false',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let out = '';
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise((r) => child.on('exit', r));
      await waitFor('the worker to start', async () => out.includes('governance worker started'), 30_000);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 400)));
      child.kill('SIGKILL');
      await exited;
    }
    // A last worker finishes whatever is left.
    const w = await h.start({ ACCESS_REQUEST_FOLLOW_INTERVAL: '50ms' }, { manual: true });
    await waitFor(
      'every request to settle',
      async () => {
        await w.runNow(['access-requests-follow']);
        const open = await db
          .selectFrom('access_requests')
          .select('id')
          .where('connector_id', '=', c.id)
          .where('status', '=', 'APPROVED')
          .execute();
        const short = await db
          .selectFrom('access_requests')
          .select('id')
          .where('connector_id', '=', c.id)
          .where('status', '=', 'ACTIVE')
          .where('duration_seconds', '=', 2)
          .execute();
        return open.length === 0 && short.length === 0;
      },
      30_000,
    );
    await w.close();

    const final = await db
      .selectFrom('access_requests')
      .select(['id', 'status', 'duration_seconds'])
      .where('connector_id', '=', c.id)
      .execute();
    expect(final.filter((r) => r.duration_seconds === 2).every((r) => r.status === 'EXPIRED')).toBe(true);
    expect(final.filter((r) => r.duration_seconds !== 2).every((r) => r.status === 'ACTIVE')).toBe(true);
    const audits = await db
      .selectFrom('audit_events')
      .select(['action', (eb) => eb.fn<string>('jsonb_extract_path_text', [eb.ref('details'), eb.val('requestId')]).as('requestId')])
      .where('action', 'in', ['access_request.active', 'access_request.expired'])
      .execute();
    for (const id of ids) {
      const mine = audits.filter((a) => a.requestId === id).map((a) => a.action);
      const short = final.find((r) => r.id === id)!.duration_seconds === 2;
      expect(mine.sort()).toEqual(short ? ['access_request.active', 'access_request.expired'] : ['access_request.active']);
    }
    // One grant task per request, never a second.
    const tasks = await db.selectFrom('provisioning_tasks').select('idempotency_key').where('connector_id', '=', c.id).execute();
    expect(tasks).toHaveLength(N);
  });
});
