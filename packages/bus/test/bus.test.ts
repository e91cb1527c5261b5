import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessRequestUpdated, SyncRequested, SyncRunUpdated } from '../src/contracts';
import { createTestBus, type TestBus } from '../src/testing';

let tb: TestBus | undefined;
afterEach(async () => {
  await tb?.destroy();
  tb = undefined;
});

describe('bus', () => {
  it('delivers each command to one consumer and redelivers what a handler failed', async () => {
    tb = await createTestBus({ ackWaitMs: 2_000 });
    const { bus } = tb;
    const runIds = [randomUUID(), randomUUID(), randomUUID()];
    for (const runId of runIds) await bus.publishSyncRequested({ v: 1, runId, connectorId: randomUUID(), mode: 'FULL' });
    // A duplicate publish (same run) is dropped by JetStream's dedupe window.
    await bus.publishSyncRequested({ v: 1, runId: runIds[0]!, connectorId: randomUUID(), mode: 'FULL' });

    const seen: Array<{ runId: string; delivery: number }> = [];
    const ac = new AbortController();
    let failedOnce = false;
    const done = bus.consumeSyncRequested(
      async (msg: SyncRequested, ctx) => {
        seen.push({ runId: msg.runId, delivery: ctx.deliveryCount });
        if (msg.runId === runIds[1] && !failedOnce) {
          failedOnce = true;
          throw new Error('transient');
        }
        if (seen.length >= 4) ac.abort();
      },
      { signal: ac.signal, retryDelayMs: 50, concurrency: 1 },
    );
    await done;
    expect(seen.map((s) => s.runId).sort()).toEqual([...runIds, runIds[1]!].sort());
    expect(seen.find((s) => s.runId === runIds[1] && s.delivery === 2)).toBeDefined();
  });

  it('terminates messages that break their contract instead of retrying them forever', async () => {
    tb = await createTestBus();
    const { bus } = tb;
    const js = (await import('@nats-io/jetstream')).jetstream(bus.nc);
    await js.publish(bus.names.syncSubject, new TextEncoder().encode('{"v":99}'));
    const good = randomUUID();
    await bus.publishSyncRequested({ v: 1, runId: good, connectorId: randomUUID(), mode: 'INCREMENTAL' });
    const errors: unknown[] = [];
    const ac = new AbortController();
    const got: string[] = [];
    await bus.consumeSyncRequested(
      async (m) => {
        got.push(m.runId);
        ac.abort();
      },
      { signal: ac.signal, onError: (e) => errors.push(e) },
    );
    expect(got).toEqual([good]);
    expect(errors).toHaveLength(1);
  });

  it('fans events out to every subscriber of the connector', async () => {
    tb = await createTestBus();
    const { bus } = tb;
    const connectorId = randomUUID();
    const a: SyncRunUpdated[] = [];
    const b: SyncRunUpdated[] = [];
    const other: SyncRunUpdated[] = [];
    const u1 = bus.subscribeSyncRunUpdated(connectorId, (e) => a.push(e));
    const u2 = bus.subscribeSyncRunUpdated('*', (e) => b.push(e));
    const u3 = bus.subscribeSyncRunUpdated(randomUUID(), (e) => other.push(e));
    await bus.nc.flush();
    bus.publishSyncRunUpdated({
      v: 1,
      runId: randomUUID(),
      connectorId,
      status: 'RUNNING',
      progress: 'users: 1 / 2',
      at: new Date().toISOString(),
    });
    await bus.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(a).toHaveLength(1);
    expect(a[0]!.progress).toBe('users: 1 / 2');
    expect(b).toHaveLength(1);
    expect(other).toHaveLength(0);
    u1();
    u2();
    u3();
  });

  it('delivers access-request events to the subscribers of that request only', async () => {
    tb = await createTestBus();
    const { bus } = tb;
    const requestId = randomUUID();
    const mine: AccessRequestUpdated[] = [];
    const other: AccessRequestUpdated[] = [];
    const u1 = bus.subscribeAccessRequestUpdated(requestId, (e) => mine.push(e));
    const u2 = bus.subscribeAccessRequestUpdated(randomUUID(), (e) => other.push(e));
    await bus.nc.flush();
    bus.publishAccessRequestUpdated({
      v: 1,
      requestId,
      connectorId: randomUUID(),
      status: 'PENDING',
      currentStep: 1,
      at: new Date().toISOString(),
    });
    // A status the tables do not know never leaves the publisher.
    expect(() =>
      bus.publishAccessRequestUpdated({
        v: 1,
        requestId,
        connectorId: randomUUID(),
        status: 'LOST' as 'PENDING',
        currentStep: null,
        at: new Date().toISOString(),
      }),
    ).toThrow();
    await bus.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(mine.map((e) => [e.status, e.currentStep])).toEqual([['PENDING', 1]]);
    expect(other).toHaveLength(0);
    u1();
    u2();
  });
});

describe('bus shutdown', () => {
  it('returns from consume when the signal was aborted before the consumer was ready', async () => {
    tb = await createTestBus();
    const ac = new AbortController();
    ac.abort();
    const started = Date.now();
    await tb.bus.consumeSyncRequested(async () => undefined, { signal: ac.signal });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
