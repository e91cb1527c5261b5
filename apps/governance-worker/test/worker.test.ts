import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { enqueueNotification } from '@warden/notifications';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Loop } from '../src';
import { createHarness, memoryLogger, waitFor, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterEach(async () => {
  // Each test starts from an empty outbox.
  await h.tdb.db.deleteFrom('notifications').execute();
});
afterAll(async () => {
  await h?.close();
});

describe('governance worker', () => {
  it('delivers an enqueued notification through the log channel', async () => {
    const { logger, lines } = memoryLogger();
    const worker = await h.start({ NOTIFY_POLL_INTERVAL_MS: '50' }, { logger });
    await h.tdb.db.transaction().execute((trx) =>
      enqueueNotification(trx, {
        kind: 'request.decided',
        recipients: [{ subject: 'alice@example.com' }],
        title: 'Your request was approved',
        text: 'Finance Readers',
        dedupeKey: 'worker-test:1',
      }),
    );
    const line = await waitFor('the log line', async () => lines.find((l) => l['msg'] === 'notification: Your request was approved'));
    expect(line).toMatchObject({ kind: 'request.decided', recipients: ['alice@example.com'] });
    const row = await waitFor('SENT', () =>
      h.tdb.db
        .selectFrom('notifications')
        .selectAll()
        .where('dedupe_key', '=', 'worker-test:1')
        .where('status', '=', 'SENT')
        .executeTakeFirst(),
    );
    expect(row.attempts).toBe(1);
    await worker.close();
  });

  it('deletes SENT notifications after NOTIFY_RETENTION_DAYS and keeps DEAD ones (the dead-letter record)', async () => {
    const { logger } = memoryLogger();
    const worker = await h.start({ NOTIFY_RETENTION_DAYS: '30' }, { logger, manual: true });
    const keys = ['retention:old-sent', 'retention:old-dead', 'retention:recent-sent'];
    for (const dedupeKey of keys) {
      await enqueueNotification(h.tdb.db, {
        kind: 'review.reminder',
        recipients: [{ subject: 'a@example.com' }],
        title: 't',
        text: 'x',
        dedupeKey,
      });
    }
    const old = new Date(Date.now() - 31 * 86_400_000);
    await h.tdb.db.updateTable('notifications').set({ status: 'SENT', created_at: old }).where('dedupe_key', '=', keys[0]!).execute();
    await h.tdb.db.updateTable('notifications').set({ status: 'DEAD', created_at: old }).where('dedupe_key', '=', keys[1]!).execute();
    await worker.runNow(['notification-delivery']);
    const left = await h.tdb.db
      .selectFrom('notifications')
      .select(['dedupe_key', 'status'])
      .where('dedupe_key', 'in', keys)
      .orderBy('dedupe_key')
      .execute();
    expect(left).toEqual([
      { dedupe_key: 'retention:old-dead', status: 'DEAD' },
      { dedupe_key: 'retention:recent-sent', status: 'SENT' },
    ]);
    // Deleted: the key may be enqueued again.
    expect(
      await enqueueNotification(h.tdb.db, {
        kind: 'review.reminder',
        recipients: [{ subject: 'a@example.com' }],
        title: 't',
        text: 'x',
        dedupeKey: keys[0]!,
      }),
    ).toBe(true);
    await worker.close();
  });

  it('a delivery that gives up is DEAD: logged at error level and reported by the metrics', async () => {
    const { logger, lines } = memoryLogger();
    // A port nothing listens on: every attempt fails with a connection error.
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const worker = await h.start(
      {
        NOTIFY_LOG: 'false',
        NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${closed}/hook`,
        NOTIFY_WEBHOOK_SECRET: 'dead-letter-test-secret-0123',
        NOTIFY_MAX_ATTEMPTS: '1',
        METRICS_PORT: '0',
      },
      { logger, manual: true },
    );
    await enqueueNotification(h.tdb.db, {
      kind: 'request.escalated',
      recipients: [{ subject: 'approver@example.com' }],
      title: 'Escalated',
      text: 'x',
      dedupeKey: 'dead-letter:1',
    });
    await worker.runNow(['notification-delivery']);
    const row = await h.tdb.db.selectFrom('notifications').selectAll().where('dedupe_key', '=', 'dead-letter:1').executeTakeFirstOrThrow();
    expect(row.status).toBe('DEAD');
    expect(row.last_error).toMatch(/^webhook request failed: /);
    const logged = lines.find((l) => l['msg'] === 'notification delivery dead after 1 attempts');
    expect(logged).toMatchObject({ level: 50, notificationId: row.id, channel: 'webhook', error: row.last_error });
    const text = await (await fetch(worker.metricsUrl!)).text();
    expect(text).toContain('warden_notification_deliveries{channel="webhook",status="DEAD"} 1');
    expect(text).toContain('warden_notification_delivery_attempts_total{channel="webhook",outcome="dead"} 1');
    expect(JSON.stringify(lines)).not.toContain('dead-letter-test-secret-0123');
    await worker.close();
  });

  it('runs registered loops on their interval, survives a failing pass, and stops on close', async () => {
    let runs = 0;
    let failures = 0;
    const loop: Loop = {
      name: 'test-loop',
      intervalMs: 20,
      async run() {
        runs++;
        if (runs === 2) {
          failures++;
          throw new Error('a failing pass');
        }
      },
    };
    const worker = await h.start({}, { loops: [loop] });
    await waitFor('five passes', async () => runs >= 5);
    expect(failures).toBe(1);
    await worker.close();
    const after = runs;
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(after);
  });
});
