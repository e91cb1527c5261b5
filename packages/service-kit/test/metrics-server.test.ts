import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../src/index';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('metrics server probes', () => {
  it('/readyz follows its dependency checks (a stalled one counts as down) while /healthz stays 200', async () => {
    const state = { postgres: true, nats: true, stall: false };
    server = await startMetricsServer({
      port: 0,
      ready: {
        postgres: () => state.postgres,
        nats: async () => {
          if (state.stall) await new Promise(() => undefined);
          return state.nats;
        },
      },
    });
    const base = server.url!.replace(/\/metrics$/, '');
    const probe = async (p: string) => {
      const r = await fetch(base + p);
      return { status: r.status, body: (await r.json()) as { checks?: Record<string, string> } };
    };
    expect((await probe('/readyz')).status).toBe(200);
    state.postgres = false;
    const down = await probe('/readyz');
    expect(down).toEqual({ status: 503, body: { status: 'not ready', checks: { postgres: 'unavailable', nats: 'ok' } } });
    expect((await probe('/healthz')).status).toBe(200);
    state.postgres = true;
    state.stall = true;
    expect((await probe('/readyz')).body.checks).toEqual({ postgres: 'ok', nats: 'unavailable' });
    expect((await probe('/healthz')).status).toBe(200);
    state.stall = false;
    expect((await probe('/readyz')).status).toBe(200);
  });

  it('/readyz without checks is ready', async () => {
    server = await startMetricsServer({ port: 0 });
    const r = await fetch(server.url!.replace(/\/metrics$/, '/readyz'));
    expect(r.status).toBe(200);
  });
});
