import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotification, NotificationInputError, type NotificationInput } from '../src';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase('warden_notify');
});
afterAll(async () => {
  await tdb?.drop();
});

const input = (dedupeKey: string): NotificationInput => ({
  kind: 'request.awaiting_decision',
  recipients: [{ subject: 'alice' }, { subject: 'alice' }, { resourceId: '00000000-0000-4000-8000-000000000001' }],
  title: 'A request waits for your decision',
  text: 'Bob asks for Finance Readers.',
  link: 'https://warden.example/requests/1',
  data: { requestId: '1' },
  dedupeKey,
});

describe('enqueueNotification', () => {
  it('enqueues once per dedupeKey', async () => {
    expect(await enqueueNotification(tdb.db, input('k1'))).toBe(true);
    expect(await enqueueNotification(tdb.db, input('k1'))).toBe(false);
    const rows = await tdb.db.selectFrom('notifications').selectAll().where('dedupe_key', '=', 'k1').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'request.awaiting_decision',
      status: 'PENDING',
      attempts: 0,
      link: 'https://warden.example/requests/1',
      data: { requestId: '1' },
      recipients: [
        { subject: 'alice', resourceId: null },
        { subject: null, resourceId: '00000000-0000-4000-8000-000000000001' },
      ],
    });
  });

  it('exists only when the caller’s transaction commits', async () => {
    await expect(
      tdb.db.transaction().execute(async (trx) => {
        await enqueueNotification(trx, input('k-rolled-back'));
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await tdb.db.selectFrom('notifications').select('id').where('dedupe_key', '=', 'k-rolled-back').execute()).toEqual([]);
    await tdb.db.transaction().execute((trx) => enqueueNotification(trx, input('k-committed')));
    expect(await tdb.db.selectFrom('notifications').select('id').where('dedupe_key', '=', 'k-committed').execute()).toHaveLength(1);
  });

  it('refuses a recipient with neither subject nor resource id, an empty key and a non-http link', async () => {
    await expect(enqueueNotification(tdb.db, { ...input('k2'), recipients: [{ subject: ' ' }] })).rejects.toBeInstanceOf(
      NotificationInputError,
    );
    await expect(enqueueNotification(tdb.db, input(' '))).rejects.toBeInstanceOf(NotificationInputError);
    await expect(enqueueNotification(tdb.db, { ...input('k3'), link: 'javascript:alert(1)' })).rejects.toThrow('must be an http(s) URL');
  });
});
