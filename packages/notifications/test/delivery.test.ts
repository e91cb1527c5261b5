import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  EmailChannel,
  enqueueNotification,
  NotificationDispatcher,
  seededRandom,
  signWebhook,
  verifyWebhook,
  WebhookChannel,
  type DispatcherOptions,
  type NotificationChannel,
  type NotificationInput,
} from '../src';
import { collectingLogger, seedDirectory, signIn, testSeed } from './support/fixtures';
import { startSmtpSink, startWebhookReceiver, type SmtpSink, type WebhookReceiver } from './support/receivers';

const SEED = testSeed('delivery.test.ts');
const SECRET = 'webhook-secret-for-tests-0123456789';
const BACKOFF = { baseMs: 1_000, maxMs: 60_000 };

let tdb: TestDatabase;
let dir: Awaited<ReturnType<typeof seedDirectory>>;
let receiver: WebhookReceiver;
let sink: SmtpSink;
const open: NotificationDispatcher[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase('warden_notify_dlv');
  dir = await seedDirectory(tdb.db);
  receiver = await startWebhookReceiver(SECRET);
  sink = await startSmtpSink();
});
afterEach(async () => {
  // Each test starts from an empty outbox and receiver.
  await tdb.db.deleteFrom('notifications').execute();
  receiver.received.length = 0;
  receiver.script.length = 0;
  sink.mails.length = 0;
});
afterAll(async () => {
  for (const d of open) await d.close();
  await receiver?.close();
  await sink?.close();
  await tdb?.drop();
});

let n = 0;
function notification(over: Partial<NotificationInput> = {}): NotificationInput {
  n++;
  return {
    kind: 'request.decided',
    recipients: [{ resourceId: dir.carol.id }],
    title: `Request ${n} approved`,
    text: 'Access to Finance Readers was approved.',
    link: `https://warden.example/requests/${n}`,
    data: { requestId: String(n) },
    dedupeKey: `test:${n}:${SEED}`,
    ...over,
  };
}

function dispatcher(channels: NotificationChannel[], over: Partial<DispatcherOptions> = {}) {
  const logger = collectingLogger();
  const outcomes: string[] = [];
  const d = new NotificationDispatcher({
    db: tdb.db,
    channels,
    logger,
    maxAttempts: 5,
    backoff: BACKOFF,
    random: seededRandom(SEED),
    onAttempt: (channel, outcome) => outcomes.push(`${channel}:${outcome}`),
    ...over,
  });
  open.push(d);
  return { d, logger, outcomes };
}

const webhook = (timeoutMs = 5_000) => new WebhookChannel({ url: receiver.url, secret: SECRET, timeoutMs });

async function deliveryOf(id: string) {
  return tdb.db.selectFrom('notification_deliveries').selectAll().where('notification_id', '=', id).executeTakeFirstOrThrow();
}
async function notificationBy(key: string) {
  return tdb.db.selectFrom('notifications').selectAll().where('dedupe_key', '=', key).executeTakeFirstOrThrow();
}

describe('webhook channel', () => {
  it('posts a signed JSON body that the receiver verifies, with the resolved recipients', async () => {
    const input = notification({ recipients: [{ resourceId: dir.carol.id }, { subject: 'frank@partner.example' }] });
    await tdb.db.transaction().execute((trx) => enqueueNotification(trx, input));
    const { d } = dispatcher([webhook()]);
    const t0 = new Date();
    expect(await d.runOnce(t0)).toEqual({ expanded: 1, sent: 1, retried: 0, dead: 0 });

    const row = await notificationBy(input.dedupeKey);
    expect(receiver.received).toHaveLength(1);
    const got = receiver.received[0]!;
    expect(got.verified).toBe(true);
    expect(got.headers['x-warden-notification-id']).toBe(row.id);
    expect(got.payload).toMatchObject({
      id: row.id,
      kind: 'request.decided',
      title: input.title,
      text: input.text,
      link: input.link,
      data: input.data,
      recipients: [
        { resourceId: dir.carol.id, subject: null, displayName: 'Carol', emails: ['carol@contoso.example'] },
        { resourceId: null, subject: 'frank@partner.example', displayName: null, emails: ['frank@partner.example'] },
      ],
    });
    expect(row).toMatchObject({ status: 'SENT', attempts: 1, last_error: null });
    expect(row.sent_at?.getTime()).toBe(t0.getTime());
    expect(await deliveryOf(row.id)).toMatchObject({ channel: 'webhook', address: new URL(receiver.url).origin, status: 'SENT' });
  });

  it('verification refuses a wrong secret, a changed body, an old timestamp and a missing header, saying why', () => {
    const body = JSON.stringify({ id: 'x' });
    const now = new Date('2026-01-01T00:00:00Z');
    const t = Math.floor(now.getTime() / 1000);
    const header = signWebhook(SECRET, body, t);
    expect(verifyWebhook({ secret: SECRET, header, body, now })).toEqual({ ok: true, timestamp: t });
    expect(verifyWebhook({ secret: 'another-secret-0123456789', header, body, now })).toEqual({
      ok: false,
      reason: 'signature does not match the body',
    });
    expect(verifyWebhook({ secret: SECRET, header, body: body + ' ', now })).toMatchObject({ ok: false });
    expect(verifyWebhook({ secret: SECRET, header, body, now: new Date(now.getTime() + 301_000) })).toEqual({
      ok: false,
      reason: 'timestamp is more than 300s from now',
    });
    expect(verifyWebhook({ secret: SECRET, header: undefined, body, now })).toEqual({
      ok: false,
      reason: 'missing x-warden-signature header',
    });
    expect(verifyWebhook({ secret: SECRET, header: `t=${t}`, body, now })).toMatchObject({ ok: false });
  });

  it('a receiver failing twice gets the notification on the 3rd attempt, after seeded exponential backoff', async () => {
    const input = notification();
    await enqueueNotification(tdb.db, input);
    receiver.script.push(500, 503);
    const { d, outcomes } = dispatcher([webhook()]);
    const expected = seededRandom(SEED);
    const t0 = new Date('2030-01-01T00:00:00Z');

    expect(await d.runOnce(t0)).toMatchObject({ retried: 1 });
    const id = (await notificationBy(input.dedupeKey)).id;
    const delay1 = backoffDelay(1, BACKOFF, expected);
    expect(delay1).toBeGreaterThanOrEqual(500);
    expect(delay1).toBeLessThanOrEqual(1_000);
    let row = await deliveryOf(id);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 1, last_error: 'webhook answered 500: receiver is down' });
    expect(row.next_attempt_at.getTime()).toBe(t0.getTime() + delay1);

    // Not due yet: nothing is sent.
    expect(await d.runOnce(new Date(t0.getTime() + delay1 - 1))).toMatchObject({ sent: 0, retried: 0 });
    const t1 = new Date(t0.getTime() + delay1);
    expect(await d.runOnce(t1)).toMatchObject({ retried: 1 });
    const delay2 = backoffDelay(2, BACKOFF, expected);
    expect(delay2).toBeGreaterThanOrEqual(1_000);
    expect(delay2).toBeLessThanOrEqual(2_000);
    row = await deliveryOf(id);
    expect(row.next_attempt_at.getTime()).toBe(t1.getTime() + delay2);

    expect(await d.runOnce(new Date(t1.getTime() + delay2))).toMatchObject({ sent: 1 });
    expect(receiver.received.map((r) => r.payload.id)).toEqual([id, id, id]);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect(await deliveryOf(id)).toMatchObject({ status: 'SENT', attempts: 3, last_error: null });
    expect(await notificationBy(input.dedupeKey)).toMatchObject({ status: 'SENT', attempts: 3 });
    expect(outcomes).toEqual(['webhook:retry', 'webhook:retry', 'webhook:sent']);
  });

  it('a receiver that always fails leaves the delivery DEAD with the last error, logged', async () => {
    const input = notification();
    await enqueueNotification(tdb.db, input);
    receiver.script.push(500, 500, 502);
    const { d, logger, outcomes } = dispatcher([webhook()], { maxAttempts: 3 });
    let t = new Date('2031-01-01T00:00:00Z').getTime();
    for (let i = 0; i < 3; i++, t += BACKOFF.maxMs) await d.runOnce(new Date(t));
    expect(await d.runOnce(new Date(t + 10 * BACKOFF.maxMs))).toEqual({ expanded: 0, sent: 0, retried: 0, dead: 0 });

    const row = await notificationBy(input.dedupeKey);
    expect(receiver.received).toHaveLength(3);
    expect(await deliveryOf(row.id)).toMatchObject({ status: 'DEAD', attempts: 3, last_error: 'webhook answered 502: receiver is down' });
    expect(row).toMatchObject({ status: 'DEAD', attempts: 3, last_error: 'webhook answered 502: receiver is down', sent_at: null });
    expect(outcomes).toEqual(['webhook:retry', 'webhook:retry', 'webhook:dead']);
    const dead = logger.lines.find((l) => l.level === 'error');
    expect(dead).toMatchObject({ msg: 'notification delivery dead after 3 attempts', obj: { notificationId: row.id, channel: 'webhook' } });
  });

  it('a receiver that does not answer fails the attempt at the timeout', async () => {
    const input = notification();
    await enqueueNotification(tdb.db, input);
    receiver.script.push('hang');
    const { d } = dispatcher([webhook(300)]);
    expect(await d.runOnce(new Date())).toMatchObject({ retried: 1 });
    expect((await deliveryOf((await notificationBy(input.dedupeKey)).id)).last_error).toBe('webhook timed out after 300 ms');
  });

  it('sends nothing for a notification whose transaction rolled back', async () => {
    const input = notification();
    await expect(
      tdb.db.transaction().execute(async (trx) => {
        await enqueueNotification(trx, input);
        throw new Error('decision failed');
      }),
    ).rejects.toThrow('decision failed');
    const { d } = dispatcher([webhook()]);
    expect(await d.runOnce(new Date())).toEqual({ expanded: 0, sent: 0, retried: 0, dead: 0 });
    expect(receiver.received).toEqual([]);
  });

  it('two dispatchers working at once deliver each notification exactly once', async () => {
    const inputs = Array.from({ length: 30 }, () => notification());
    for (const i of inputs) await enqueueNotification(tdb.db, i);
    const a = dispatcher([webhook()], { batchSize: 4 }).d;
    const b = dispatcher([webhook()], { batchSize: 4 }).d;
    const now = new Date();
    const [ra, rb] = await Promise.all([a.runOnce(now), b.runOnce(now)]);
    const unsent = await tdb.db
      .selectFrom('notification_deliveries')
      .select(['status', 'last_error'])
      .where('status', '!=', 'SENT')
      .execute();
    expect(unsent).toEqual([]);
    expect(ra.sent + rb.sent).toBe(30);
    const ids = receiver.received.map((r) => r.payload.id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    const statuses = await tdb.db.selectFrom('notifications').select('status').execute();
    expect(statuses.every((s) => s.status === 'SENT')).toBe(true);
  });
});

describe('a replica that stops while sending', () => {
  it('keeps its claim for the lease only; another replica then delivers, and the late answer changes nothing', async () => {
    const input = notification();
    await enqueueNotification(tdb.db, input);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const sending = new Promise<void>((r) => (started = r));
    // A channel whose send hangs: the replica is alive but will never record an outcome in time.
    const stuck: NotificationChannel = {
      name: 'webhook',
      targets: () => [new URL(receiver.url).origin],
      send: async () => {
        started();
        await held;
      },
    };
    const leaseMs = 30_000;
    const a = dispatcher([stuck], { leaseMs }).d;
    const b = dispatcher([webhook()], { leaseMs }).d;
    const t0 = new Date('2032-01-01T00:00:00Z');
    const first = a.runOnce(t0);
    await sending;

    // Within the lease the other replica leaves it alone; after it, it takes over.
    expect(await b.runOnce(new Date(t0.getTime() + leaseMs - 1))).toMatchObject({ sent: 0 });
    expect(await b.runOnce(new Date(t0.getTime() + leaseMs))).toMatchObject({ sent: 1 });
    const row = await notificationBy(input.dedupeKey);
    expect(row.status).toBe('SENT');
    expect(await deliveryOf(row.id)).toMatchObject({ status: 'SENT', attempts: 2 });
    expect(receiver.received.map((r) => r.payload.id)).toEqual([row.id]);

    release();
    expect(await first).toMatchObject({ sent: 1 });
    expect(await deliveryOf(row.id)).toMatchObject({ status: 'SENT', attempts: 2 });
    expect((await notificationBy(input.dedupeKey)).status).toBe('SENT');
  });
});

describe('email channel', () => {
  it('mails each resolved address through a real SMTP server, with the title as subject', async () => {
    await signIn(tdb.db, 'subject-of-erin', dir.erin.externalId);
    const input = notification({
      kind: 'access.expiring',
      title: 'Your access to Finance Readers expires tomorrow',
      text: 'It ends at 09:00 <UTC>.',
      recipients: [
        { resourceId: dir.carol.id }, // mail
        { resourceId: dir.dave.id }, // no mail: userPrincipalName
        { subject: 'subject-of-erin' }, // linked by tid/oid of a sign-in
        { subject: 'frank@partner.example' }, // an email subject
        { subject: 'unlinked-subject' }, // nothing
        { resourceId: dir.groupId }, // not a USER: nothing
        { subject: 'CAROL@contoso.example' }, // the same address as carol: one mail
      ],
    });
    await enqueueNotification(tdb.db, input);
    const email = new EmailChannel({ smtpUrl: sink.url, from: 'Warden <warden@example.org>' });
    const { d } = dispatcher([email]);
    expect(await d.runOnce(new Date())).toMatchObject({ expanded: 1, sent: 4, dead: 0 });

    const to = sink.mails.map((m) => m.envelopeTo[0]).sort();
    expect(to).toEqual(['carol@contoso.example', 'dave@contoso.example', 'erin@contoso.example', 'frank@partner.example']);
    for (const { mail, envelopeTo } of sink.mails) {
      expect(mail.subject).toBe(input.title);
      expect(mail.from?.text).toBe('"Warden" <warden@example.org>');
      expect((mail.to as { text: string }).text).toBe(envelopeTo[0]);
      expect(mail.text).toContain('It ends at 09:00 <UTC>.');
      expect(mail.text).toContain(input.link!);
      expect(mail.html).toContain('It ends at 09:00 &lt;UTC&gt;.');
      expect(mail.html).toContain(`<a href="${input.link!}">`);
    }
    const row = await notificationBy(input.dedupeKey);
    expect(row.status).toBe('SENT');
    expect(row.resolved_recipients?.map((r) => r.emails)).toEqual([
      ['carol@contoso.example'],
      ['dave@contoso.example'],
      ['erin@contoso.example'],
      ['frank@partner.example'],
      [],
      [],
      ['CAROL@contoso.example'],
    ]);
  });

  it('a wrong SMTP password fails the attempt without the password in the error', async () => {
    const input = notification();
    await enqueueNotification(tdb.db, input);
    const wrong = sink.url.replace('sink-pass-0123', 'wrong-pass-9876');
    const { d } = dispatcher([new EmailChannel({ smtpUrl: wrong, from: 'warden@example.org' })]);
    expect(await d.runOnce(new Date())).toMatchObject({ retried: 1 });
    const error = (await deliveryOf((await notificationBy(input.dedupeKey)).id)).last_error!;
    expect(error).toMatch(/^email to carol@contoso.example failed: /);
    expect(error).not.toContain('wrong-pass-9876');
  });

  it('a notification no configured channel can reach is DEAD with the reason', async () => {
    const input = notification({ recipients: [{ subject: 'unlinked-subject' }] });
    await enqueueNotification(tdb.db, input);
    const { d, logger } = dispatcher([new EmailChannel({ smtpUrl: sink.url, from: 'warden@example.org' })]);
    expect(await d.runOnce(new Date())).toMatchObject({ expanded: 1, sent: 0 });
    expect(await notificationBy(input.dedupeKey)).toMatchObject({
      status: 'DEAD',
      last_error: 'no configured channel (email) has an address for any recipient',
    });
    expect(logger.lines.some((l) => l.level === 'error')).toBe(true);
    expect(sink.mails).toEqual([]);
  });
});
