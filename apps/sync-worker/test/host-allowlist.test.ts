import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvironment } from '../src';
import { createHarness, type Harness } from './support/harness';

// A connector saved while its host was allowed, then the deployment shrinks ALLOWED_GRAPH_HOSTS:
// the worker must not send the connector's credentials (token request) or any Graph call there.
describe('ALLOWED_GRAPH_HOSTS in the sync worker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ seed: 31 });
    // The emulator's host is no longer on the list.
    await h.startWorker({ ALLOWED_GRAPH_HOSTS: 'graph.microsoft.com,login.microsoftonline.com' });
  });
  afterAll(async () => h?.close());

  it('refuses to sync a connector whose stored graphBaseUrl is no longer allowed, says why, and calls nothing', async () => {
    const c = await h.addConnector();
    h.emulator.resetStats();
    const run = await h.waitForRun(await h.trigger(c, 'FULL'), 30_000);
    expect(run.status).toBe('FAILED');
    const host = new URL(h.emulator.config.baseUrl).host;
    expect(run.error).toContain(`graphBaseUrl ${h.emulator.config.baseUrl}`);
    expect(run.error).toContain(`host '${host}' is not in this deployment's ALLOWED_GRAPH_HOSTS`);
    const connector = await h.tdb.db
      .selectFrom('connectors')
      .select(['status', 'status_message'])
      .where('id', '=', c)
      .executeTakeFirstOrThrow();
    expect(connector.status).toBe('ERROR');
    expect(connector.status_message).toMatch(/ALLOWED_GRAPH_HOSTS/);
    const logs = await h.tdb.db.selectFrom('connector_logs').select('message').where('connector_id', '=', c).execute();
    expect(logs.some((l) => /ALLOWED_GRAPH_HOSTS/.test(l.message))).toBe(true);
    // No token request and no Graph request reached the emulator.
    const stats = h.emulator.stats();
    expect(stats.tokensIssued).toBe(0);
    expect(stats.requests).toBe(0);
    // Nothing was written for the connector.
    expect(await h.tdb.db.selectFrom('resources').select('id').where('connector_id', '=', c).execute()).toHaveLength(0);
  });

  it('the workers read ALLOWED_GRAPH_HOSTS (default: the Microsoft clouds only) and refuse published secrets in production', () => {
    const base = { DATABASE_URL: 'postgres://x', WARDEN_SECRET_KEYS: h.env()['WARDEN_SECRET_KEYS']! };
    expect(parseEnvironment(base).ALLOWED_GRAPH_HOSTS).toMatch(/^graph\.microsoft\.com,/);
    expect(parseEnvironment(base).ALLOWED_GRAPH_HOSTS).not.toMatch(/localhost|emulator/);
    expect(() =>
      parseEnvironment({ ...base, NODE_ENV: 'production', WARDEN_SECRET_KEYS: 'k1:ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMhISE=' }),
    ).toThrow(/invalid sync-worker environment[\s\S]*published development key/);
  });
});
