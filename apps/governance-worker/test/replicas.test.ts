import { enqueueNotification } from '@warden/notifications';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, startReceiver, waitFor, type Harness, type Receiver } from './support/harness';

const SECRET = 'replica-test-webhook-secret-0123';
let h: Harness;
let receiver: Receiver;
beforeAll(async () => {
  h = await createHarness();
  receiver = await startReceiver(SECRET);
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

describe('several governance workers', () => {
  it('deliver each notification exactly once between them, and expose delivery metrics', async () => {
    const env = {
      NOTIFY_LOG: 'false',
      NOTIFY_WEBHOOK_URL: receiver.url,
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_POLL_INTERVAL_MS: '20',
      METRICS_PORT: '0',
    };
    const workers = await Promise.all([h.start(env), h.start(env), h.start(env)]);
    const count = 60;
    for (let i = 0; i < count; i++) {
      await h.tdb.db.transaction().execute((trx) =>
        enqueueNotification(trx, {
          kind: 'review.reminder',
          recipients: [{ subject: `reviewer${i}@example.com` }],
          title: `Review ${i} waits for you`,
          text: 'Please decide.',
          dedupeKey: `replicas:${i}`,
        }),
      );
    }
    await waitFor('every notification SENT', async () => {
      const left = await h.tdb.db.selectFrom('notifications').select('id').where('status', '!=', 'SENT').execute();
      return left.length === 0;
    });
    expect(receiver.ids).toHaveLength(count);
    expect(new Set(receiver.ids).size).toBe(count);

    const texts = await Promise.all(workers.map(async (w) => (await fetch(w.metricsUrl!)).text()));
    const sent = texts
      .map((t) => /warden_notification_delivery_attempts_total\{channel="webhook",outcome="sent"\} (\d+)/.exec(t)?.[1] ?? '0')
      .reduce((a, b) => a + Number(b), 0);
    expect(sent).toBe(count);
    expect(texts[0]).toContain('warden_governance_loop_runs_total{loop="notification-delivery",outcome="ok"}');
    // Nothing pending or dead: the gauge reports no series.
    expect(texts[0]).not.toMatch(/^warden_notification_deliveries\{/m);
    await Promise.all(workers.map((w) => w.close()));
  });
});
