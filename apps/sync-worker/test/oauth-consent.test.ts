import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestSync, SyncRefused } from '@warden/access-model';
import { scheduleDueSyncs } from '../src/scheduler';
import { createHarness, type Harness } from './support/harness';

/**
 * An OAUTH connector signs in with the deployment's own app. Without a verified admin consent for its
 * tenant (consented_tenant_id = tenant_id, consent_verified_at set) nothing may sync it: not
 * requestSync, not the scheduler, and not the worker even when a SyncRequested reaches it directly.
 */
describe('OAUTH connectors without a verified admin consent', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  /** An OAUTH connector whose tenant was written without a consent (the pre-fix gateway let any admin do this). */
  async function unconsented(): Promise<string> {
    const row = await h.tdb.db
      .insertInto('connectors')
      .values({
        display_name: 'oauth',
        auth_method: 'OAUTH',
        tenant_id: h.emulator.config.tenantId,
        client_id: h.emulator.app('provisioning').clientId,
        graph_base_url: h.emulator.config.baseUrl,
        authority_host: h.emulator.config.authorityHost,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }
  const oauthEnv = () => ({
    OAUTH_CLIENT_ID: h.emulator.app('provisioning').clientId,
    OAUTH_CLIENT_SECRET: h.emulator.app('provisioning').clientSecret,
  });

  it('requestSync refuses with CONSENT_INCOMPLETE and the scheduler skips it; both accept it once consent is verified', async () => {
    const c = await unconsented();
    const refused = await requestSync(h.tdb.db, h.tbus.bus, { connectorId: c, mode: 'FULL', requestedBy: 'mallory' }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(SyncRefused);
    expect((refused as SyncRefused).code).toBe('CONSENT_INCOMPLETE');
    expect((await scheduleDueSyncs(h.tdb.db, h.tbus.bus, { staleRunMs: 60_000 })).enqueued.some((e) => e.connectorId === c)).toBe(false);
    // A consent verified for a different tenant does not count either.
    await h.tdb.db
      .updateTable('connectors')
      .set({ consented_tenant_id: '00000000-0000-4000-8000-000000000001', consent_verified_at: new Date() })
      .where('id', '=', c)
      .execute();
    expect((await scheduleDueSyncs(h.tdb.db, h.tbus.bus, { staleRunMs: 60_000 })).enqueued.some((e) => e.connectorId === c)).toBe(false);
    await expect(requestSync(h.tdb.db, h.tbus.bus, { connectorId: c, mode: 'FULL', requestedBy: 'mallory' })).rejects.toBeInstanceOf(
      SyncRefused,
    );
    expect(await h.tdb.db.selectFrom('sync_runs').select('id').where('connector_id', '=', c).execute()).toHaveLength(0);

    await h.tdb.db.updateTable('connectors').set({ consented_tenant_id: h.emulator.config.tenantId }).where('id', '=', c).execute();
    expect((await scheduleDueSyncs(h.tdb.db, h.tbus.bus, { staleRunMs: 60_000 })).enqueued.filter((e) => e.connectorId === c)).toHaveLength(
      1,
    );
    await h.tdb.db.deleteFrom('connectors').where('id', '=', c).execute();
  });

  it('the worker fails a run for it even when the message bypasses requestSync, and syncs it after consent', async () => {
    await h.startWorker(oauthEnv());
    const c = await unconsented();
    const run = await h.tdb.db
      .insertInto('sync_runs')
      .values({ connector_id: c, mode: 'FULL', stats: '{}', checkpoint: '{}', requested_by: 'mallory' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await h.tbus.bus.publishSyncRequested({ v: 1, runId: run.id, connectorId: c, mode: 'FULL' });
    const failed = await h.waitForRun(run.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/admin consent/);
    expect(await h.tdb.db.selectFrom('resources').select('id').where('connector_id', '=', c).execute()).toHaveLength(0);

    await h.tdb.db
      .updateTable('connectors')
      .set({ consented_tenant_id: h.emulator.config.tenantId, consent_verified_at: new Date() })
      .where('id', '=', c)
      .execute();
    const ok = await h.sync(c, 'FULL');
    expect(ok.error).toBeNull();
    expect(ok.status).toBe('SUCCEEDED');
    expect((await h.diff(c)).differences).toEqual([]);
  });
});
