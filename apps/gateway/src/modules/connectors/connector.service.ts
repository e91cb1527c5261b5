import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { appendAudit, appendConnectorLog } from '@warden/access-model';
import { type ConnectorStatus, type Database } from '@warden/database';
import { Statements } from '../../execution/statements';
import { sealCredentials, openCredentials, type ConnectorCredentials } from '@warden/service-kit';
import { ownersFor, requireCaller, requireConnectorWriter } from '../../auth/authorize';
import type { Caller } from '../../auth/roles';
import type { GatewayDeps } from '../../context';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../../errors';
import { decodeCursor, isUuid, pageSize } from '../../pagination/cursor';
import { isTimestampKey, timestampKey } from '../../pagination/keyset';
import { knownTotal, toPage, totalColumn, type PageResult } from '../../pagination/page';
import { CONNECTOR_PUBLIC_COLUMNS, toConnector, type Connector, type ConnectorPublicRow } from './connector.type';
import { validateCreate, validateUpdate, type CreateConnectorInput, type UpdateConnectorInput } from './connector.input';
import { allMissing } from './permissions';
import { aliasesOf, joined, type Loaders } from '../../loaders';
import { SYNC_RUN_COLUMNS, type SyncRunListRow } from '../sync-runs/sync-run.type';
import type { ProbeResult } from './credential-probe';
import { refuseWhileTimeBoundAccessOpen, revokeTimeBoundGrants } from './time-bound-access';
import { appendCallerAudit } from '../../auth/audit-actor';

const DEFAULT_GRAPH = 'https://graph.microsoft.com';
const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const CONSENT_TTL_MS = 15 * 60_000;
// `id` first: joined() tests it for a match.
const RUN_ALIASES = aliasesOf('r', SYNC_RUN_COLUMNS);

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
    status_message: missing.length
      ? `credentials work; ${missing.length} Graph permission(s) missing: ${missing.join(', ')}`
      : 'credentials work; all permissions granted',
    granted_permissions: result.granted,
    missing_permissions: missing,
  };
}

export class ConnectorService {
  private readonly statements: Statements<Database>;

  constructor(private readonly deps: GatewayDeps) {
    this.statements = new Statements(deps.db);
  }

  /** `withCount`: the client selected totalCount, so the page statement carries it (one round trip). */
  async list(
    first: number | null | undefined,
    after: string | null | undefined,
    prime?: Loaders,
    withCount = false,
  ): Promise<PageResult<Connector>> {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, ['string', 'string']);
    if (cursor && (!isTimestampKey(cursor[0] as string) || !isUuid(cursor[1] as string)))
      throw new BadUserInputError('`after` is not a cursor returned by this API');
    // Built once per shape (Statements): Kysely's builder cost more than reading the handful of rows.
    const build = () => {
      let q = this.deps.db
        .selectFrom('connectors as c')
        // Each connector's latest run comes along and primes lastSyncRunByConnector: a dashboard's
        // list with statuses is one round trip.
        .leftJoinLateral(
          (eb) =>
            eb
              .selectFrom('sync_runs')
              .select(SYNC_RUN_COLUMNS)
              .whereRef('sync_runs.connector_id', '=', 'c.id')
              .orderBy('queued_at', 'desc')
              .orderBy('id', 'desc')
              .limit(1)
              .as('r'),
          (j) => j.onTrue(),
        )
        .select(CONNECTOR_PUBLIC_COLUMNS.map((col) => `c.${col}` as const))
        .select(timestampKey('c.created_at').as('created_key'))
        .select(SYNC_RUN_COLUMNS.map((col) => sql.ref(`r.${col}`).as(`r_${col}`)))
        .select(totalColumn(withCount ? this.countQuery() : null));
      if (cursor)
        q = q.where(
          sql<boolean>`(c.created_at, c.id) > (${Statements.param<string>(0)}::timestamptz, ${Statements.param<string>(1)}::uuid)`,
        );
      return q.orderBy('c.created_at').orderBy('c.id').limit(Statements.param<number>(2));
    };
    const rows = (
      await this.statements.run(`connectors:list:${withCount}:${cursor !== null}`, build, [cursor?.[0], cursor?.[1], limit + 1])
    ).rows;
    if (prime) {
      for (const r of rows) prime.lastSyncRunByConnector.prime(r.id, joined<SyncRunListRow>(r, RUN_ALIASES));
    }
    return toPage(
      rows,
      limit,
      (r) => [r.created_key, r.id],
      toConnector,
      async () => Number((await this.countQuery().executeTakeFirstOrThrow()).n),
      knownTotal(rows),
    );
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

  /** The role rule (CREATE_CONNECTORS) is declared on Mutation.createConnector; the caller always becomes an owner. */
  async create(caller: Caller | null, input: CreateConnectorInput): Promise<ConnectorPublicRow> {
    const who = requireCaller(caller);
    const v = validateCreate(input);
    const { env, allowlist, box, db } = this.deps;
    const graphBaseUrl = allowlist.check('graphBaseUrl', v.graphBaseUrl ?? DEFAULT_GRAPH);
    const authorityHost = allowlist.check('authorityHost', v.authorityHost ?? DEFAULT_AUTHORITY);
    const id = randomUUID();

    let clientId = v.clientId ?? null;
    let creds: ConnectorCredentials | null = null;
    if (v.authMethod === 'OAUTH') {
      if (!env.OAUTH_CLIENT_ID)
        throw new BadUserInputError('this deployment has no OAuth app configured (OAUTH_CLIENT_ID); use CLIENT_SECRET or CERTIFICATE');
      clientId = env.OAUTH_CLIENT_ID;
    } else if (v.clientSecret) {
      creds = { kind: 'secret', clientSecret: v.clientSecret };
    } else if (v.certificatePem && v.privateKeyPem) {
      creds = { kind: 'certificate', certificatePem: v.certificatePem, privateKeyPem: v.privateKeyPem };
    }

    let state: Verification = {
      status: 'NOT_CONNECTED',
      status_message:
        v.authMethod === 'OAUTH' ? 'waiting for admin consent (beginAdminConsent)' : 'add tenantId, clientId and credentials to connect',
      granted_permissions: [],
      missing_permissions: [],
    };
    if (creds && v.tenantId && clientId) {
      state = verification(
        await this.deps.probe.probe({ tenantId: v.tenantId, clientId, authorityHost, graphBaseUrl, credentials: creds }),
      );
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
      await appendCallerAudit(trx, who, {
        action: 'connector.created',
        connectorId: id,
        details: {
          displayName: v.displayName,
          authMethod: v.authMethod,
          tenantId: v.tenantId ?? null,
          clientId,
          graphBaseUrl,
          authorityHost,
          owners,
          skipAdGroups: v.skipAdGroups ?? false,
          credentials: creds ? creds.kind : null,
          status: state.status,
        },
      });
      await appendConnectorLog(
        trx,
        id,
        state.status === 'ERROR' ? 'ERROR' : 'INFO',
        `created by ${who.sub}: ${state.status_message ?? state.status}`,
      );
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
    else if (v.certificatePem && v.privateKeyPem)
      newCreds = { kind: 'certificate', certificatePem: v.certificatePem, privateKeyPem: v.privateKeyPem };

    const tenantId = v.tenantId ?? row.tenant_id;
    const clientId = row.auth_method === 'OAUTH' ? row.client_id : (v.clientId ?? row.client_id);
    const credentialsTouched = newCreds !== null || v.tenantId !== undefined || (v.clientId !== undefined && row.auth_method !== 'OAUTH');

    let state: Partial<Verification> = {};
    if (credentialsTouched) {
      const creds = newCreds ?? this.storedCredentials(row.id, row.secret_ciphertext, row.auth_method);
      if (creds && tenantId && clientId) {
        state = verification(
          await probe.probe({
            tenantId,
            clientId,
            authorityHost: row.authority_host,
            graphBaseUrl: row.graph_base_url,
            credentials: creds,
          }),
        );
      }
    }

    const changed = Object.entries(v)
      .filter(([, value]) => value !== undefined)
      .map(([k]) => k);
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
      await appendCallerAudit(trx, who, {
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
      if (state.status)
        await appendConnectorLog(
          trx,
          row.id,
          state.status === 'ERROR' ? 'ERROR' : 'INFO',
          `credentials checked by ${who.sub}: ${state.status_message ?? state.status}`,
        );
      return out;
    });
    return updated;
  }

  private storedCredentials(connectorId: string, envelope: string | null, method: string): ConnectorCredentials | null {
    if (envelope) {
      try {
        return openCredentials(this.deps.box, connectorId, envelope);
      } catch (err) {
        this.deps.logger.error(
          { connectorId, err: err instanceof Error ? err.message : 'unknown' },
          'stored credentials cannot be decrypted',
        );
        throw new BadUserInputError('the stored credentials cannot be decrypted with the configured keys; send new credentials');
      }
    }
    const secret = this.deps.env.OAUTH_CLIENT_SECRET;
    return method === 'OAUTH' && secret ? { kind: 'secret', clientSecret: secret } : null;
  }

  /**
   * Cancels active runs (and says so on the bus), then removes the connector; its data cascades.
   * Refused (CONFLICT, naming what is open) while the connector has open time-bound access — direct
   * grants with an expiry not yet revoked, or provisioning tasks still queued or running: deleting
   * would drop the grant rows the expiry scan works from, and the access would stay in Entra for
   * ever. With `revokeTimeBoundAccess`, the caller's revokes of those grants are queued first (the
   * deletion is still refused until they have completed; call again then).
   */
  async delete(caller: Caller | null, id: string, opts: { revokeTimeBoundAccess?: boolean | null } = {}): Promise<boolean> {
    const { row, who } = await this.authorizeWrite(caller, id);
    const queued = opts.revokeTimeBoundAccess ? await revokeTimeBoundGrants(this.deps, row.id, who) : 0;
    const cancelled = await this.deps.db.transaction().execute(async (trx) => {
      // A task or grant inserted concurrently references this row (foreign key) and so waits for this
      // transaction, then fails; nothing can open new access between the check and the delete.
      await trx.selectFrom('connectors').select('id').where('id', '=', row.id).forUpdate().executeTakeFirst();
      await refuseWhileTimeBoundAccessOpen(trx, row, queued);
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
      await appendCallerAudit(trx, who, {
        action: 'connector.deleted',
        connectorId: row.id,
        details: {
          displayName: row.display_name,
          tenantId: row.tenant_id,
          cancelledRuns: runs.map((r) => r.id),
          removed: counts.rows[0] ?? {},
        },
      });
      await trx.deleteFrom('connectors').where('id', '=', row.id).execute();
      return runs;
    });
    const at = new Date().toISOString();
    for (const r of cancelled)
      this.deps.bus.publishSyncRunUpdated({
        v: 1,
        runId: r.id,
        connectorId: row.id,
        status: 'CANCELLED',
        progress: 'connector deleted',
        at,
      });
    this.deps.logger.info({ connectorId: row.id, actor: who.sub, cancelledRuns: cancelled.length }, 'connector deleted');
    return true;
  }

  async beginAdminConsent(
    caller: Caller | null,
    connectorId: string,
    allowSharedTenant = false,
  ): Promise<{ authorizationUrl: string; state: string; startUrl: string }> {
    const { row, who } = await this.authorizeWrite(caller, connectorId);
    const { env, db } = this.deps;
    if (row.auth_method !== 'OAUTH')
      throw new BadUserInputError(`connector '${row.display_name}' uses ${row.auth_method}; admin consent applies to OAUTH connectors`);
    if (allowSharedTenant && who.role !== 'SUPER_ADMIN')
      throw new ForbiddenError(
        'only a SUPER_ADMIN may allow a consent to bind a tenant another connector already uses (allowSharedTenant)',
      );
    if (!env.OAUTH_CLIENT_ID || !env.PUBLIC_URL)
      throw new BadUserInputError('this deployment is not configured for admin consent (OAUTH_CLIENT_ID and PUBLIC_URL)');
    const state = randomBytes(32).toString('base64url');
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('admin_consent_states')
        .values({
          state,
          connector_id: row.id,
          subject: who.sub,
          expires_at: new Date(Date.now() + CONSENT_TTL_MS),
          allow_shared_tenant: allowSharedTenant,
        })
        .execute();
      await appendCallerAudit(trx, who, {
        action: 'connector.consent_started',
        connectorId: row.id,
        details: { expiresInSeconds: CONSENT_TTL_MS / 1000, ...(allowSharedTenant ? { allowSharedTenant: true } : {}) },
      });
    });
    return { authorizationUrl: this.authorizationUrl(row, state), state, startUrl: startUrl(env.PUBLIC_URL, state) };
  }

  /** The identity platform's admin-consent URL for this connector and state. */
  private authorizationUrl(row: { authority_host: string; graph_base_url: string; tenant_id: string | null }, state: string): string {
    const { env } = this.deps;
    const url = new URL(
      `${row.authority_host.replace(/\/$/, '')}/${encodeURIComponent(row.tenant_id ?? 'organizations')}/v2.0/adminconsent`,
    );
    url.searchParams.set('client_id', env.OAUTH_CLIENT_ID ?? '');
    // The Graph this connector calls (national clouds have their own), as graph-core requests its tokens.
    url.searchParams.set('scope', `${new URL(row.graph_base_url).origin}/.default`);
    url.searchParams.set('redirect_uri', callbackUrl(env.PUBLIC_URL ?? ''));
    url.searchParams.set('state', state);
    return url.toString();
  }

  /**
   * `GET /oauth/start?state=…`: binds a begun consent to the browser that opens it first. Stores the
   * hash of a fresh random verifier with the state (once: a second browser is refused) and hands the
   * verifier back for an httpOnly cookie; the callback then accepts the state only with that cookie.
   */
  async startAdminConsent(
    state: string | undefined,
  ): Promise<
    { status: 302; location: string; verifier: string; cookieName: string; maxAgeMs: number } | { status: number; message: string }
  > {
    const { db, env } = this.deps;
    if (!state || state.length > 200) return { status: 400, message: 'missing state' };
    const verifier = randomBytes(32).toString('base64url');
    const started = await db
      .updateTable('admin_consent_states')
      .set({ verifier_hash: sha256(verifier), started_at: sql`now()` })
      .where('state', '=', state)
      .where('used_at', 'is', null)
      .where('verifier_hash', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['connector_id', 'expires_at'])
      .executeTakeFirst();
    if (!started)
      return {
        status: 400,
        message: 'this consent link is unknown, expired, already used or already opened in another browser; start again from Warden',
      };
    const row = await db
      .selectFrom('connectors')
      .select(['authority_host', 'graph_base_url', 'tenant_id'])
      .where('id', '=', started.connector_id)
      .executeTakeFirst();
    if (!row || !env.OAUTH_CLIENT_ID || !env.PUBLIC_URL)
      return { status: 404, message: 'the connector no longer exists or the deployment is not configured for admin consent' };
    return {
      status: 302,
      location: this.authorizationUrl(row, state),
      verifier,
      cookieName: consentCookieName(state),
      maxAgeMs: Math.max(0, started.expires_at.getTime() - Date.now()),
    };
  }

  /**
   * The redirect target after an admin consented (or refused). The state is single use, expires,
   * and is accepted only from the browser that opened `/oauth/start` (its verifier cookie); it names
   * the connector and the platform user who started the consent, who becomes the audit actor (the
   * browser redirect itself carries no bearer token). The query's `tenant` and `admin_consent` are
   * not evidence: the tenant is recorded only when a token obtained for it names that organisation
   * (`tid`), and only if no other connector is bound to it (unless a SUPER_ADMIN allowed that).
   */
  async completeAdminConsent(q: {
    state?: string;
    verifier?: string;
    tenant?: string;
    adminConsent?: string;
    error?: string;
    errorDescription?: string;
  }): Promise<{ status: number; message: string }> {
    const { db, env, probe, logger } = this.deps;
    if (!q.state || q.state.length > 200) return { status: 400, message: 'missing state' };
    const used = q.verifier
      ? await db
          .updateTable('admin_consent_states')
          .set({ used_at: sql`now()` })
          .where('state', '=', q.state)
          .where('used_at', 'is', null)
          .where('verifier_hash', '=', sha256(q.verifier))
          .returning(['connector_id', 'subject', 'expires_at', 'allow_shared_tenant'])
          .executeTakeFirst()
      : undefined;
    if (!used) {
      const known = await db
        .selectFrom('admin_consent_states')
        .select(['connector_id', 'subject', 'used_at', 'verifier_hash'])
        .where('state', '=', q.state)
        .executeTakeFirst();
      if (!known || known.used_at)
        return { status: 400, message: 'this consent link is unknown or was already used; start again from Warden' };
      const reason = known.verifier_hash === null ? 'not_started' : 'browser_mismatch';
      await db.transaction().execute(async (trx) => {
        await appendAudit(trx, {
          actor: known.subject,
          action: 'connector.consent_refused',
          connectorId: known.connector_id,
          details: { reason },
        });
      });
      logger.warn({ connectorId: known.connector_id, reason }, 'admin consent callback refused: not from the browser that started it');
      return {
        status: 400,
        message:
          known.verifier_hash === null
            ? "this consent was not started through Warden's start link; open the start link (startUrl) from Warden in this browser"
            : 'this consent was started in another browser (or its cookie is missing); finish it in the browser that opened the start link, or start again from Warden',
      };
    }
    if (used.expires_at.getTime() < Date.now()) return { status: 400, message: 'this consent link has expired; start again from Warden' };
    const row = await db.selectFrom('connectors').selectAll().where('id', '=', used.connector_id).executeTakeFirst();
    if (!row) return { status: 404, message: 'the connector no longer exists' };

    const refuse = async (status: number, reason: string, message: string, details: Record<string, unknown> = {}) => {
      await db.transaction().execute(async (trx) => {
        await appendAudit(trx, {
          actor: used.subject,
          action: 'connector.consent_failed',
          connectorId: row.id,
          details: { reason, ...details },
        });
        await appendConnectorLog(trx, row.id, 'ERROR', `admin consent not recorded: ${message}`);
      });
      logger.warn({ connectorId: row.id, reason }, 'admin consent not recorded');
      return { status, message };
    };

    if (q.error || q.adminConsent !== 'True' || !q.tenant) {
      // Everything here came from the browser's query string: stored only as data (audit details),
      // capped and without control characters; the connector log and the log line name no part of it.
      const error = cleanText(q.error ?? null, 100);
      const description = cleanText(q.errorDescription ?? null, 500);
      await db.transaction().execute(async (trx) => {
        await appendAudit(trx, {
          actor: used.subject,
          action: 'connector.consent_failed',
          connectorId: row.id,
          details: { reason: 'identity_platform', error, description },
        });
        await appendConnectorLog(
          trx,
          row.id,
          'ERROR',
          'admin consent was refused or failed at the identity platform; the error is in the audit log (connector.consent_failed)',
        );
      });
      logger.warn({ connectorId: row.id, reason: 'identity_platform' }, 'admin consent failed');
      return { status: 400, message: `admin consent failed: ${description ?? error ?? 'the administrator did not grant consent'}` };
    }
    if (!GUID.test(q.tenant)) return refuse(400, 'tenant_not_guid', 'the tenant id is not a GUID');
    if (!env.OAUTH_CLIENT_ID || !env.OAUTH_CLIENT_SECRET) {
      return refuse(503, 'unverifiable', 'this deployment has no OAUTH_CLIENT_SECRET, so the consent cannot be verified with a token');
    }
    const claimed = q.tenant.toLowerCase();
    const result = await probe.probe({
      tenantId: claimed,
      clientId: env.OAUTH_CLIENT_ID,
      authorityHost: row.authority_host,
      graphBaseUrl: row.graph_base_url,
      credentials: { kind: 'secret', clientSecret: env.OAUTH_CLIENT_SECRET },
    });
    if (!result.ok)
      return refuse(502, 'no_token', `no token could be obtained for the tenant named in the redirect: ${result.message}`, {
        tenantId: claimed,
      });
    const tid = result.tenantId?.toLowerCase() ?? null;
    if (!tid || tid !== claimed)
      return refuse(400, 'tenant_mismatch', 'the token obtained does not confirm the tenant named in the redirect', {
        tenantId: claimed,
        tokenTenantId: tid,
      });
    // The tenant of an OAUTH connector never changes: a consent verified earlier, or a GUID recorded
    // before consents were verified (its synced data is that tenant's), must match.
    const fixed = row.consented_tenant_id ?? (row.tenant_id && GUID.test(row.tenant_id) ? row.tenant_id : null);
    if (fixed && fixed.toLowerCase() !== tid) {
      return refuse(409, 'tenant_change', `this connector is for tenant ${fixed}; create a new connector for tenant ${tid}`, {
        tenantId: tid,
      });
    }

    const state = verification(result);
    const outcome = await db.transaction().execute(async (trx) => {
      // One binding decision per tenant at a time (two callbacks racing for the same tenant).
      await sql`SELECT pg_advisory_xact_lock(hashtext(${`warden-consent-tenant:${tid}`}))`.execute(trx);
      // Bound = another connector holds a verified consent of the deployment's app for this tenant.
      // A typed tenantId of a CLIENT_SECRET/CERTIFICATE connector is not evidence of anything (and
      // counting it would let anyone block a tenant's consent); those connectors use their own app.
      const other = await trx
        .selectFrom('connectors')
        .select(['id'])
        .where('id', '<>', row.id)
        .where(sql<boolean>`lower(consented_tenant_id) = ${tid}`)
        .executeTakeFirst();
      if (other && !used.allow_shared_tenant) {
        await appendAudit(trx, {
          actor: used.subject,
          action: 'connector.consent_failed',
          connectorId: row.id,
          details: { reason: 'tenant_bound', tenantId: tid, boundTo: other.id },
        });
        await appendConnectorLog(
          trx,
          row.id,
          'ERROR',
          `admin consent not recorded: tenant ${tid} is already bound to another connector (a SUPER_ADMIN can allow this with beginAdminConsent(allowSharedTenant: true))`,
        );
        return 'conflict' as const;
      }
      await trx
        .updateTable('connectors')
        .set({
          tenant_id: tid,
          consented_tenant_id: tid,
          consent_verified_at: sql`now()`,
          client_id: env.OAUTH_CLIENT_ID ?? row.client_id,
          ...state,
          updated_at: sql`now()`,
        })
        .where('id', '=', row.id)
        .execute();
      await appendAudit(trx, {
        actor: used.subject,
        action: 'connector.consented',
        connectorId: row.id,
        details: { tenantId: tid, status: state.status, ...(other ? { sharedWith: other.id } : {}) },
      });
      await appendConnectorLog(trx, row.id, 'INFO', `admin consent verified for tenant ${tid}: ${state.status_message ?? state.status}`);
      return 'ok' as const;
    });
    if (outcome === 'conflict') {
      logger.warn({ connectorId: row.id, reason: 'tenant_bound' }, 'admin consent not recorded');
      return {
        status: 409,
        message: `tenant ${tid} is already bound to another connector; ask a SUPER_ADMIN to start the consent with allowSharedTenant`,
      };
    }
    return { status: 200, message: `Connector '${row.display_name}' is connected to tenant ${tid}. You can close this window.` };
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function sha256(v: string): string {
  return createHash('sha256').update(v).digest('hex');
}

/** The verifier cookie of one consent (several may be under way in one browser). */
export function consentCookieName(state: string): string {
  return `warden_consent_${sha256(state).slice(0, 16)}`;
}

/**
 * Text from an untrusted source as data: control and format characters (newlines, bidi overrides)
 * become spaces, whitespace collapses, length is capped. Null when nothing is left.
 */
export function cleanText(v: string | null, max: number): string | null {
  if (v === null) return null;
  const out = [
    ...v
      .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  ]
    .slice(0, max)
    .join('')
    .trim();
  return out.length ? out : null;
}

export function startUrl(publicUrl: string, state: string): string {
  return `${publicUrl.replace(/\/$/, '')}/oauth/start?state=${encodeURIComponent(state)}`;
}

export function callbackUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/$/, '')}/oauth/callback`;
}
