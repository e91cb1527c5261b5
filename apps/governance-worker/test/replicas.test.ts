import type { AddressInfo } from 'node:net';
import { enqueueNotification } from '@warden/notifications';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, memoryLogger, startReceiver, waitFor, type Harness, type Receiver } from './support/harness';

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

describe('channels from the environment', () => {
  it('SMTP_URL + NOTIFY_EMAIL_FROM and the webhook both deliver; neither secret reaches the log', async () => {
    const mails: { to: string[]; data: string }[] = [];
    const smtp = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (auth, _s, cb) => (auth.password === 'smtp-pass-4242' ? cb(null, { user: auth.username }) : cb(new Error('no'))),
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    const port = (smtp.server.address() as AddressInfo).port;
    const { logger, lines } = memoryLogger('debug');
    try {
      const worker = await h.start(
        {
          NOTIFY_WEBHOOK_URL: receiver.url,
          NOTIFY_WEBHOOK_SECRET: SECRET,
          SMTP_URL: `smtp://warden:smtp-pass-4242@127.0.0.1:${port}`,
          NOTIFY_EMAIL_FROM: 'Warden <warden@example.org>',
        },
        { logger, manual: true },
      );
      await enqueueNotification(h.tdb.db, {
        kind: 'access.expiring',
        recipients: [{ subject: 'holder@example.com' }],
        title: 'Your access expires tomorrow',
        text: 'Finance Readers',
        dedupeKey: 'channels:1',
      });
      await worker.runNow(['notification-delivery']);
      const row = await h.tdb.db.selectFrom('notifications').selectAll().where('dedupe_key', '=', 'channels:1').executeTakeFirstOrThrow();
      expect(row.status).toBe('SENT');
      const channels = await h.tdb.db
        .selectFrom('notification_deliveries')
        .select(['channel', 'address', 'status'])
        .where('notification_id', '=', row.id)
        .orderBy('channel')
        .execute();
      expect(channels).toEqual([
        { channel: 'email', address: 'holder@example.com', status: 'SENT' },
        { channel: 'log', address: 'log', status: 'SENT' },
        { channel: 'webhook', address: new URL(receiver.url).origin, status: 'SENT' },
      ]);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.to).toEqual(['holder@example.com']);
      expect(mails[0]!.data).toContain('Subject: Your access expires tomorrow');
      expect(receiver.ids).toContain(row.id);
      const logged = JSON.stringify(lines);
      expect(logged).toContain('notification: Your access expires tomorrow');
      expect(logged).not.toContain('smtp-pass-4242');
      expect(logged).not.toContain(SECRET);
      await worker.close();
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });
});
