import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvironment } from '../src';
import { createHarness, type Harness } from './support/harness';
import { group, pickUser, writableGroups } from './support/tenant';

// A connector saved while its host was allowed, then the deployment shrinks ALLOWED_GRAPH_HOSTS:
// the worker must not send the connector's credentials (token request) or any write there.
describe('ALLOWED_GRAPH_HOSTS in the provision worker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    await h.startWorker({ ALLOWED_GRAPH_HOSTS: 'graph.microsoft.com,login.microsoftonline.com' });
  });
  afterAll(async () => h?.close());

  it('fails the task of a connector whose stored graphBaseUrl is no longer allowed, says why, and calls nothing', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[0]!;
    const user = pickUser(t, g.members);
    h.emulator.resetStats();
    const task = await h.waitForTask((await h.request({ action: 'GRANT', entitlementKey: `GROUP:${g.id}:member`, principal: user })).id);
    expect(task.status).toBe('FAILED');
    const host = new URL(h.emulator.config.baseUrl).host;
    expect(task.error).toContain(`graphBaseUrl ${h.emulator.config.baseUrl}`);
    expect(task.error).toContain(`host '${host}' is not in this deployment's ALLOWED_GRAPH_HOSTS`);
    // No token request and no Graph call; the membership did not change.
    const stats = h.emulator.stats();
    expect(stats.tokensIssued).toBe(0);
    expect(stats.requests).toBe(0);
    expect(group(h.emulator.exportTenant(), g.id).members).not.toContain(user);
    // The connector says so.
    await expect
      .poll(
        async () =>
          await h.tdb.db
            .selectFrom('connectors')
            .select(['status', 'status_message'])
            .where('id', '=', h.connectorId)
            .executeTakeFirstOrThrow(),
      )
      .toMatchObject({ status: 'ERROR', status_message: expect.stringMatching(/ALLOWED_GRAPH_HOSTS/) });
  });

  it('reads ALLOWED_GRAPH_HOSTS (default: the Microsoft clouds only) and refuses published secrets in production', () => {
    const base = { DATABASE_URL: 'postgres://x', WARDEN_SECRET_KEYS: h.secretKeys };
    expect(parseEnvironment(base).ALLOWED_GRAPH_HOSTS).toMatch(/^graph\.microsoft\.com,/);
    expect(() =>
      parseEnvironment({ ...base, NODE_ENV: 'production', WARDEN_SECRET_KEYS: 'k1:ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMhISE=' }),
    ).toThrow(/invalid provision-worker environment[\s\S]*published development key/);
  });
});
