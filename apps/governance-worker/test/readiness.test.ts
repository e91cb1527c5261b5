import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GovernanceWorker } from '../src';
import { createHarness, type Harness } from './support/harness';

// The probes an orchestrator uses; their behaviour while Postgres or NATS is away is covered by
// service-kit's metrics-server test, the bus restart test and the chaos suite.
describe('governance worker probes', () => {
  let h: Harness;
  let worker: GovernanceWorker;
  beforeAll(async () => {
    h = await createHarness();
    worker = await h.start({ METRICS_PORT: '0' }, { manual: true });
  });
  afterAll(async () => h?.close());

  it('serves /healthz and /readyz (Postgres and NATS checked) next to /metrics', async () => {
    const base = worker.metricsUrl!.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', nats: 'ok' } });
  });
});
