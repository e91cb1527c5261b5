import { uniqueName } from '@warden/database/testing';
import { Bus } from '../bus';

export const TEST_NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

export interface TestBus {
  bus: Bus;
  namespace: string;
  /** Deletes this namespace's streams and closes the connection. */
  destroy(): Promise<void>;
}

/** A bus connection with its own namespace (streams and subjects), so test runs never collide. */
export async function createTestBus(opts: { namespace?: string; ackWaitMs?: number } = {}): Promise<TestBus> {
  const namespace = opts.namespace ?? uniqueName('wt');
  const bus = await Bus.connect({ url: TEST_NATS_URL, namespace, ackWaitMs: opts.ackWaitMs ?? 5_000, name: 'warden-test' });
  return {
    bus,
    namespace,
    async destroy() {
      await bus.destroyTopology();
      await bus.close();
    },
  };
}
