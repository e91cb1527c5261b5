import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { appendAudit, appendConnectorLog } from '@warden/access-model';
import { type ConnectorStatus } from '@warden/database';
import { sealCredentials, openCredentials, type ConnectorCredentials } from '@warden/service-kit';
import { ownersFor, requireConnectorCreator, requireConnectorWriter } from '../../auth/authorize';
import type { Caller } from '../../auth/roles';
import type { GatewayDeps } from '../../context';
import { BadUserInputError, NotFoundError } from '../../errors';
import { decodeCursor, isUuid, pageSize } from '../../pagination/cursor';
import { isTimestampKey, timestampKey } from '../../pagination/keyset';
import { knownTotal, toPage, totalColumn, type PageResult } from '../../pagination/page';
import { CONNECTOR_PUBLIC_COLUMNS, toConnector, type Connector, type ConnectorPublicRow } from './connector.type';
import { validateCreate, validateUpdate, type CreateConnectorInput, type UpdateConnectorInput } from './connector.input';
import { allMissing } from './permissions';
import type { Loaders } from '../../loaders';
import { SYNC_RUN_COLUMNS, type SyncRunListRow } from '../sync-runs/sync-run.type';
import type { ProbeResult } from './credential-probe';

const DEFAULT_GRAPH = 'https://graph.microsoft.com';
const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const CONSENT_TTL_MS = 15 * 60_000;

interface Verification {
  status: ConnectorStatus;
  status_message: string | null;
  granted_permissions: string[];
  missing_permissions: string[];
}

/** Probe outcome → the columns it decides. A working token means CONNECTED (see README: statuses). */
function verification(result: ProbeResult): Verification {
  if (!result.ok) return { status: 'ERROR', status_message: result.message, granted_permissions: [], missing_permissions: allMissing([]) };
  const missing = allMissing(result.granted);
  return {
    status: 'CONNECTED',
    status_message: missing.length ? `credentials work; ${missing.length} Graph permission(s) missing: ${missing.join(', ')}` : 'credentials work; all permissions granted',
    granted_permissions: result.granted,
    missing_permissions: missing,
  };
}

export class ConnectorService {
  constructor(private readonly deps: GatewayDeps) {}

  /** `withCount`: the client selected totalCount, so the page statement carries it (one round trip). */
  async list(first: number | null | undefined, after: string | null | undefined, prime?: Loaders, withCount = false): Promise<PageResult<Connector>> {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, ['string', 'string']);
    if (cursor && (!isTimestampKey(cursor[0] as string) || !isUuid(cursor[1] as string))) throw new BadUserInputError('`after` is not a cursor returned by this API');
    let q = this.deps.db
      .selectFrom('connectors as c')
      // Each connector's latest run comes along and primes lastSyncRunByConnector: a dashboard's
      // list with statuses is one round trip (plus the parallel COUNT).
      .leftJoinLateral(
        (eb) => eb.selectFrom('sync_runs').select(SYNC_RUN_COLUMNS).whereRef('sync_runs.connector_id', '=', 'c.id').orderBy('queued_at', 'desc').orderBy('id', 'desc').limit(1).as('r'),
        (j) => j.onTrue(),
      )
      .select(CONNECTOR_PUBLIC_COLUMNS.map((col) => `c.${col}` as const))
      .select(timestampKey('c.created_at').as('created_key'))
      .select(SYNC_RUN_COLUMNS.map((col) => sql.ref(`r.${col}`).as(`r_${col}`)))
      .select(totalColumn(withCount ? this.countQuery() : null));
    if (cursor) q = q.where(sql<boolean>`(c.created_at, c.id) > (${cursor[0]}::timestamptz, ${cursor[1]}::uuid)`);
    const rows = await q.orderBy('c.created_at').orderBy('c.id').limit(limit + 1).execute();
    if (prime) {
      for (const r of rows as unknown as Array<Record<string, unknown> & { id: string }>) {
        const run = r['r_id'] == null ? null : (Object.fromEntries(SYNC_RUN_COLUMNS.map((col) => [col, r[`r_${col}`]])) as SyncRunListRow);
        prime.lastSyncRunByConnector.prime(r.id, run);
      }
    }
    return toPage(rows, limit, (r) => [r.created_key, r.id], toConnector, async () => Number((await this.countQuery().executeTakeFirstOrThrow()).n), knownTotal(rows));
  }

  private countQuery() {
    return this.deps.db.selectFrom('connectors').select((eb) => eb.fn.countAll<number>().as('n'));
  }

  /** The row with its sealed credentials, for write paths only. */
  private async loadForWrite(id: string) {
    if (!isUuid(id)) throw new NotFoundError(`connector ${id} does not exist`);
    const row = await this.deps.db.selectFrom('connectors').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`connector ${id} does not exist`);
    return row;
  }

  /** Loads the connector and checks the caller may change it (NOT_FOUND before FORBIDDEN). */
  async authorizeWrite(caller: Caller | null, connectorId: string) {
    const row = await this.loadForWrite(connectorId);
    const who = requireConnectorWriter(caller, row);
    return { row, who };
  }

  async create(caller: Caller | null, input: CreateConnectorInput): Promise<ConnectorPublicRow> {
    const who = requireConnectorCreator(caller);
    const v = validateCreate(input);
    const { env, allowlist, box, db } = this.deps;
    const graphBaseUrl = allowlist.check('graphBaseUrl', v.graphBaseUrl ?? DEFAULT_GRAPH);
    const authorityHost = allowlist.check('authorityHost', v.authorityHost ?? DEFAULT_AUTHORITY);
    const id = randomUUID();

    let clientId = v.clientId ?? null;
    let creds: ConnectorCredentials | null = null;
    if (v.authMethod === 'OAUTH') {
      if (!env.OAUTH_CLIENT_ID) throw new BadUserInputError('this deployment has no OAuth app configured (OAUTH_CLIENT_ID); use CLIENT_SECRET or CERTIFICATE');
      clientId = env.OAUTH_CLIENT_ID;
    } else if (v.clientSecret) {
      creds = { kind: 'secret', clientSecret: v.clientSecret };
    } else if (v.certificatePem && v.privateKeyPem) {
      creds = { kind: 'certificate', certificatePem: v.certificatePem, privateKeyPem: v.privateKeyPem };
    }

    let state: Verification = {
      status: 'NOT_CONNECTED',
      status_message: v.authMethod === 'OAUTH' ? 'waiting for admin consent (beginAdminConsent)' : 'add tenantId, clientId and credentials to connect',
      granted_permissions: [],
      missing_permissions: [],
    };
    if (creds && v.tenantId && clientId) {
      state = verification(await this.deps.probe.probe({ tenantId: v.tenantId, clientId, authorityHost, graphBaseUrl, credentials: creds }));
    }

    const owners = ownersFor(who, v.owners);
    const row = await db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('connectors')
        .values({
          id,
          display_name: v.displayName,
          tenant_id: v.tenantId ?? null,
          client_id: clientId,
          auth_method: v.authMethod,
          secret_ciphertext: creds ? sealCredentials(box, id, creds) : null,
          skip_ad_groups: v.skipAdGroups ?? false,
          graph_base_url: graphBaseUrl,
          authority_host: authorityHost,
          owners,
          ...state,
        })
        .returning(CONNECTOR_PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow();
      await appendAudit(trx, {
        actor: who.sub,
        action: 'connector.created',
        connectorId: id,
        details: {
          displayName: v.displayName, authMethod: v.authMethod, tenantId: v.tenantId ?? null, clientId, graphBaseUrl, authorityHost,
          owners, skipAdGroups: v.skipAdGroups ?? false, credentials: creds ? creds.kind : null, status: state.status,
        },
      });
      await appendConnectorLog(trx, id, state.status === 'ERROR' ? 'ERROR' : 'INFO', `created by ${who.sub}: ${state.status_message ?? state.status}`);
      return inserted;
    });
    this.deps.logger.info({ connectorId: id, actor: who.sub, status: state.status }, 'connector created');
    return row;
  }

  async update(caller: Caller | null, id: string, input: UpdateConnectorInput): Promise<ConnectorPublicRow> {
    const { row, who } = await this.authorizeWrite(caller, id);
    const v = validateUpdate(input, row.auth_method);
    const { box, db, probe } = this.deps;

    let newCreds: ConnectorCredentials | null = null;
    if (v.clientSecret) newCreds = { kind: 'secret', clientSecret: v.clientSecret };
    else if (v.certificatePem && v.privateKeyPem) newCreds = { kind: 'certificate', certificatePem: v.certificatePem, privateKeyPem: v.privateKeyPem };

    const tenantId = v.tenantId ?? row.tenant_id;
    const clientId = row.auth_method === 'OAUTH' ? row.client_id : (v.clientId ?? row.client_id);
    const credentialsTouched = newCreds !== null || v.tenantId !== undefined || (v.clientId !== undefined && row.auth_method !== 'OAUTH');

    let state: Partial<Verification> = {};
    if (credentialsTouched) {
      const creds = newCreds ?? this.storedCredentials(row.id, row.secret_ciphertext, row.auth_method);
      if (creds && tenantId && clientId) {
        state = verification(await probe.probe({ tenantId, clientId, authorityHost: row.authority_host, graphBaseUrl: row.graph_base_url, credentials: creds }));
      }
    }

    const changed = Object.entries(v).filter(([, value]) => value !== undefined).map(([k]) => k);
    const owners = v.owners !== undefined ? ownersFor(who, v.owners) : undefined;
    const updated = await db.transaction().execute(async (trx) => {
      const out = await trx
        .updateTable('connectors')
        .set({
          ...(v.displayName !== undefined ? { display_name: v.displayName } : {}),
          ...(v.tenantId !== undefined ? { tenant_id: v.tenantId } : {}),
          ...(v.clientId !== undefined && row.auth_method !== 'OAUTH' ? { client_id: v.clientId } : {}),
          ...(v.skipAdGroups !== undefined ? { skip_ad_groups: v.skipAdGroups } : {}),
          ...(owners ? { owners } : {}),
          ...(newCreds ? { secret_ciphertext: sealCredentials(box, row.id, newCreds) } : {}),
          ...state,
          updated_at: sql`now()`,
        })
        .where('id', '=', row.id)
        .returning(CONNECTOR_PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow();
      await appendAudit(trx, {
        actor: who.sub,
        action: 'connector.updated',
        connectorId: row.id,
        details: {
          changed,
          ...(v.displayName !== undefined ? { displayName: v.displayName } : {}),
          ...(v.tenantId !== undefined ? { tenantId: v.tenantId } : {}),
          ...(v.clientId !== undefined ? { clientId: v.clientId } : {}),
          ...(owners ? { owners } : {}),
          ...(newCreds ? { credentials: `${newCreds.kind} replaced` } : {}),
          ...(state.status ? { status: state.status } : {}),
        },
      });
      if (state.status) await appendConnectorLog(trx, row.id, state.status === 'ERROR' ? 'ERROR' : 'INFO', `credentials checked by ${who.sub}: ${state.status_message ?? state.status}`);
      return out;
    });
    return updated;
  }

  private storedCredentials(connectorId: string, envelope: string | null, method: string): ConnectorCredentials | null {
    if (envelope) {
      try {
        return openCredentials(this.deps.box, connectorId, envelope);
      } catch (err) {
        this.deps.logger.error({ connectorId, err: err instanceof Error ? err.message : 'unknown' }, 'stored credentials cannot be decrypted');
        throw new BadUserInputError('the stored credentials cannot be decrypted with the configured keys; send new credentials');
      }
    }
    const secret = this.deps.env.OAUTH_CLIENT_SECRET;
    return method === 'OAUTH' && secret ? { kind: 'secret', clientSecret: secret } : null;
  }

  /** Cancels active runs (and says so on the bus), then removes the connector; its data cascades. */
  async delete(caller: Caller | null, id: string): Promise<boolean> {
    const { row, who } = await this.authorizeWrite(caller, id);
    const cancelled = await this.deps.db.transaction().execute(async (trx) => {
      const runs = await trx
        .updateTable('sync_runs')
        .set({ status: 'CANCELLED', finished_at: sql`now()`, error: 'connector deleted' })
        .where('connector_id', '=', row.id)
        .where('status', 'in', ['QUEUED', 'RUNNING'])
        .returning(['id'])
        .execute();
      const counts = await sql<{ resources: number; entitlements: number; grants: number }>`
        SELECT (SELECT count(*) FROM resources WHERE connector_id = ${row.id}::uuid)::int AS resources,
               (SELECT count(*) FROM entitlements WHERE connector_id = ${row.id}::uuid)::int AS entitlements,
               (SELECT count(*) FROM grants WHERE connector_id = ${row.id}::uuid)::int AS grants`.execute(trx);
      await appendAudit(trx, {
        actor: who.sub,
        action: 'connector.deleted',
        connectorId: row.id,
        details: { displayName: row.display_name, tenantId: row.tenant_id, cancelledRuns: runs.map((r) => r.id), removed: counts.rows[0] ?? {} },
      });
      await trx.deleteFrom('connectors').where('id', '=', row.id).execute();
      return runs;
    });
    const at = new Date().toISOString();
    for (const r of cancelled) this.deps.bus.publishSyncRunUpdated({ v: 1, runId: r.id, connectorId: row.id, status: 'CANCELLED', progress: 'connector deleted', at });
    this.deps.logger.info({ connectorId: row.id, actor: who.sub, cancelledRuns: cancelled.length }, 'connector deleted');
    return true;
  }

  async beginAdminConsent(caller: Caller | null, connectorId: string): Promise<{ authorizationUrl: string; state: string }> {
    const { row, who } = await this.authorizeWrite(caller, connectorId);
    const { env, db } = this.deps;
    if (row.auth_method !== 'OAUTH') throw new BadUserInputError(`connector '${row.display_name}' uses ${row.auth_method}; admin consent applies to OAUTH connectors`);
    if (!env.OAUTH_CLIENT_ID || !env.PUBLIC_URL) throw new BadUserInputError('this deployment is not configured for admin consent (OAUTH_CLIENT_ID and PUBLIC_URL)');
    const state = randomBytes(32).toString('base64url');
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('admin_consent_states').values({ state, connector_id: row.id, subject: who.sub, expires_at: new Date(Date.now() + CONSENT_TTL_MS) }).execute();
      await appendAudit(trx, { actor: who.sub, action: 'connector.consent_started', connectorId: row.id, details: { expiresInSeconds: CONSENT_TTL_MS / 1000 } });
    });
    const url = new URL(`${row.authority_host.replace(/\/$/, '')}/${encodeURIComponent(row.tenant_id ?? 'organizations')}/v2.0/adminconsent`);
    url.searchParams.set('client_id', env.OAUTH_CLIENT_ID);
    url.searchParams.set('scope', 'https://graph.microsoft.com/.default');
    url.searchParams.set('redirect_uri', callbackUrl(env.PUBLIC_URL));
    url.searchParams.set('state', state);
    return { authorizationUrl: url.toString(), state };
  }

  /**
   * The redirect target after an admin consented (or refused). The state is single use and
   * expires; it names the connector and the platform user who started the consent, who becomes
   * the audit actor (the browser redirect itself carries no bearer token).
   */
  async completeAdminConsent(q: { state?: string; tenant?: string; adminConsent?: string; error?: string; errorDescription?: string }): Promise<{ status: number; message: string }> {
    const { db, env, probe } = this.deps;
    if (!q.state) return { status: 400, message: 'missing state' };
    const used = await db
      .updateTable('admin_consent_states')
      .set({ used_at: sql`now()` })
      .where('state', '=', q.state)
      .where('used_at', 'is', null)
      .returning(['connector_id', 'subject', 'expires_at'])
      .executeTakeFirst();
    if (!used) return { status: 400, message: 'this consent link is unknown or was already used; start again from Warden' };
    if (used.expires_at.getTime() < Date.now()) return { status: 400, message: 'this consent link has expired; start again from Warden' };
    const row = await db.selectFrom('connectors').selectAll().where('id', '=', used.connector_id).executeTakeFirst();
    if (!row) return { status: 404, message: 'the connector no longer exists' };

    if (q.error || q.adminConsent !== 'True' || !q.tenant) {
      const why = (q.errorDescription ?? q.error ?? 'the administrator did not grant consent').slice(0, 500);
      await db.transaction().execute(async (trx) => {
        await appendAudit(trx, { actor: used.subject, action: 'connector.consent_failed', connectorId: row.id, details: { error: q.error ?? null, description: why } });
        await appendConnectorLog(trx, row.id, 'ERROR', `admin consent failed: ${why}`);
      });
      return { status: 400, message: `admin consent failed: ${why}` };
    }
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(q.tenant)) return { status: 400, message: 'the tenant id is not a GUID' };
    if (row.tenant_id && isUuid(row.tenant_id) && row.tenant_id.toLowerCase() !== q.tenant.toLowerCase()) {
      return { status: 400, message: `consent was given in tenant ${q.tenant}, but this connector is for tenant ${row.tenant_id}` };
    }

    let state: Verification = { status: 'NOT_CONNECTED', status_message: 'consent recorded; OAUTH_CLIENT_SECRET is not configured, so no token was checked', granted_permissions: [], missing_permissions: [] };
    if (env.OAUTH_CLIENT_ID && env.OAUTH_CLIENT_SECRET) {
      state = verification(await probe.probe({
        tenantId: q.tenant, clientId: env.OAUTH_CLIENT_ID, authorityHost: row.authority_host, graphBaseUrl: row.graph_base_url,
        credentials: { kind: 'secret', clientSecret: env.OAUTH_CLIENT_SECRET },
      }));
    }
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('connectors').set({ tenant_id: q.tenant!, client_id: env.OAUTH_CLIENT_ID ?? row.client_id, ...state, updated_at: sql`now()` }).where('id', '=', row.id).execute();
      await appendAudit(trx, { actor: used.subject, action: 'connector.consented', connectorId: row.id, details: { tenantId: q.tenant, status: state.status } });
      await appendConnectorLog(trx, row.id, state.status === 'ERROR' ? 'ERROR' : 'INFO', `admin consent recorded for tenant ${q.tenant}: ${state.status_message ?? state.status}`);
    });
    return state.status === 'ERROR'
      ? { status: 502, message: `consent recorded, but no token could be obtained: ${state.status_message ?? ''}` }
      : { status: 200, message: `Connector '${row.display_name}' is connected to tenant ${q.tenant}. You can close this window.` };
  }
}

export function callbackUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/$/, '')}/oauth/callback`;
}
