import { enqueueNotification } from '@warden/notifications';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Loop } from '../src';
import { createHarness, memoryLogger, waitFor, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
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
