/**
 * npm run bench:notifications -- [--count 2000] [--workers 1,3]
 *
 * Notification delivery end to end: `--count` notifications enqueued (one transaction each, as a
 * workflow does), then delivered by N governance workers (in this process, each with its own pool)
 * to a local webhook receiver that verifies every signature. Reports the enqueue rate, the delivery
 * rate, and checks that each notification arrived exactly once. Real Postgres and NATS.
 *
 * Writes bench/results/notifications-<count>.json: `ours` is the run with the most workers, `baseline`
 * the run with the fewest (one worker by default), so `ratio` is what scaling out buys.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createTestBus } from '@warden/bus/testing';
import { createTestDatabase } from '@warden/database/testing';
import { startGovernanceWorker } from '@warden/governance-worker';
import { enqueueNotification, SIGNATURE_HEADER, verifyWebhook } from '@warden/notifications';
import { randomBytes } from 'node:crypto';
import { loadAverage, writeBenchResult } from '../support/result';

const { values } = parseArgs({ options: { count: { type: 'string', default: '2000' }, workers: { type: 'string', default: '1,3' } } });
const COUNT = Number(values.count);
const WORKERS = String(values.workers)
  .split(',')
  .map((w) => Number(w));
const SECRET = randomBytes(24).toString('base64');
const loadAtStart = loadAverage();

const received = new Map<string, number>();
let refused = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const header = req.headers[SIGNATURE_HEADER];
    const v = verifyWebhook({ secret: SECRET, header: Array.isArray(header) ? header[0] : header, body });
    if (!v.ok) {
      refused++;
      res.writeHead(401).end(v.reason);
      return;
    }
    const id = (JSON.parse(body) as { id: string }).id;
    received.set(id, (received.get(id) ?? 0) + 1);
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

const rows: string[] = [];
interface Run {
  workers: number;
  enqueuedPerSecond: number;
  deliverySeconds: number;
  deliveredPerSecond: number;
  distinctReceived: number;
  duplicates: number;
}
const runs: Run[] = [];
for (const workers of WORKERS) {
  const tdb = await createTestDatabase('warden_bench_notify');
  const tbus = await createTestBus();
  received.clear();
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    await tdb.db.transaction().execute((trx) =>
      enqueueNotification(trx, {
        kind: 'review.reminder',
        recipients: [{ subject: `reviewer${i % 97}@example.com` }],
        title: `Review ${i} waits for you`,
        text: 'Please decide before Friday.',
        link: `https://warden.example/reviews/${i}`,
        data: { i },
        dedupeKey: `bench:${i}`,
      }),
    );
  }
  const enqueueMs = performance.now() - t0;
  const env = {
    DATABASE_URL: tdb.url,
    BUS_NAMESPACE: tbus.namespace,
    WARDEN_SECRET_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'warn',
    NOTIFY_LOG: 'false',
    NOTIFY_WEBHOOK_URL: url,
    NOTIFY_WEBHOOK_SECRET: SECRET,
    NOTIFY_POLL_INTERVAL_MS: '50',
  };
  const t1 = performance.now();
  const running = await Promise.all(Array.from({ length: workers }, () => startGovernanceWorker(env)));
  for (;;) {
    const left = await tdb.db
      .selectFrom('notifications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '!=', 'SENT')
      .executeTakeFirstOrThrow();
    if (Number(left.n) === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const deliverMs = performance.now() - t1;
  await Promise.all(running.map((w) => w.close()));
  const duplicates = [...received.values()].filter((n) => n > 1).length;
  runs.push({
    workers,
    enqueuedPerSecond: Math.round(COUNT / (enqueueMs / 1000)),
    deliverySeconds: Math.round(deliverMs) / 1000,
    deliveredPerSecond: Math.round(COUNT / (deliverMs / 1000)),
    distinctReceived: received.size,
    duplicates,
  });
  rows.push(
    `| ${workers} | ${COUNT} | ${Math.round(COUNT / (enqueueMs / 1000))} | ${(deliverMs / 1000).toFixed(2)} s | ${Math.round(COUNT / (deliverMs / 1000))} | ${received.size} | ${duplicates} |`,
  );
  await tbus.destroy();
  await tdb.drop();
}
server.closeAllConnections();
server.close();
process.stdout.write(
  [
    '| workers | notifications | enqueued/s (1 tx each) | delivery time (incl. worker start) | delivered/s | distinct received | duplicates |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    refused > 0 ? `signature refusals: ${refused}` : 'signature refusals: 0',
    '',
  ].join('\n'),
);

const byWorkers = [...runs].sort((a, b) => a.workers - b.workers);
const most = byWorkers[byWorkers.length - 1]!;
const fewest = byWorkers[0]!;
const exactlyOnce = runs.every((r) => r.distinctReceived === COUNT && r.duplicates === 0) && refused === 0;
const pick = (r: Run) => ({ workers: r.workers, deliveredPerSecond: r.deliveredPerSecond, enqueuedPerSecond: r.enqueuedPerSecond });
const file = writeBenchResult({
  bench: 'notifications',
  size: String(COUNT),
  command: `npm run bench:notifications -- --count ${COUNT} --workers ${WORKERS.join(',')}`,
  caveats: ['delivery time includes starting the workers; the webhook receiver runs in the same process'],
  ours: pick(most),
  baseline: byWorkers.length > 1 ? pick(fewest) : null,
  ratio: {
    deliveredPerSecond: byWorkers.length > 1 ? Math.round((most.deliveredPerSecond / fewest.deliveredPerSecond) * 100) / 100 : null,
  },
  correct: exactlyOnce,
  targets: { 'every notification delivered exactly once': exactlyOnce },
  details: { count: COUNT, runs, signatureRefusals: refused },
  loadAtStart,
});
process.stderr.write(`wrote ${file}\n`);
