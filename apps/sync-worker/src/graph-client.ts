import { GraphClient, type GraphAuth, type GraphStatsSink } from '@warden/graph-core';
import { type ConnectorRow } from '@warden/database';
import { openCredentials, type HostAllowlist, type SecretBox } from '@warden/service-kit';
import type { Logger } from 'pino';

export interface GraphSettings {
  maxConcurrency: number;
  maxRetryTimeMs: number;
  ruPer10s?: number;
  oauthClientId?: string;
  oauthClientSecret?: string;
  /** The worker's Graph metrics (graph-core counters by tenant and route). */
  metrics?: GraphStatsSink;
  /**
   * ALLOWED_GRAPH_HOSTS: a connector whose stored graphBaseUrl / authorityHost is no longer on it is
   * refused before any token request or Graph call (the list may have shrunk since it was saved).
   */
  allowlist?: HostAllowlist;
}

/** A connector cannot be synced as configured (no tenant, no credentials): not worth retrying. */
export class ConnectorNotReady extends Error {}

/** The connector's stored Graph or authority URL is not (or no longer) on ALLOWED_GRAPH_HOSTS. */
export class ConnectorHostRefused extends ConnectorNotReady {}

/** Throws ConnectorHostRefused when the connector's stored endpoints are not allowed. */
export function assertConnectorHostsAllowed(connector: ConnectorRow, allowlist: HostAllowlist | undefined): void {
  const refusal = allowlist?.refusalFor(connector);
  if (refusal) throw new ConnectorHostRefused(`Sync ${refusal}`);
}

/**
 * A Graph client for one run. Reads go as `x-ms-throttle-priority: Low` so that, under pressure,
 * Graph throttles the sync before interactive provisioning calls; graph-core shares the throttle
 * governor per (authority, tenant, app, Graph root) across clients in this process.
 */
export function graphClientFor(connector: ConnectorRow, box: SecretBox, settings: GraphSettings, logger: Logger): GraphClient {
  assertConnectorHostsAllowed(connector, settings.allowlist);
  const tenantId = connector.tenant_id;
  if (!tenantId) throw new ConnectorNotReady('the connector has no tenant id yet; finish connecting it before syncing');
  const clientId = connector.auth_method === 'OAUTH' ? (connector.client_id ?? settings.oauthClientId ?? null) : connector.client_id;
  if (!clientId) throw new ConnectorNotReady('the connector has no client id yet; finish connecting it before syncing');
  return new GraphClient({
    tenantId,
    clientId,
    auth: authOf(connector, box, settings),
    graphBaseUrl: connector.graph_base_url,
    authorityHost: connector.authority_host,
    priority: 'Low',
    maxConcurrency: settings.maxConcurrency,
    maxRetryTimeMs: settings.maxRetryTimeMs,
    ...(settings.ruPer10s ? { budget: { ruPer10s: settings.ruPer10s } } : {}),
    logger: logger.child({ connectorId: connector.id }),
    ...(settings.metrics ? { metrics: settings.metrics } : {}),
  });
}

function authOf(connector: ConnectorRow, box: SecretBox, settings: GraphSettings): GraphAuth {
  if (connector.secret_ciphertext) {
    const creds = openCredentials(box, connector.id, connector.secret_ciphertext);
    return creds.kind === 'secret'
      ? { kind: 'secret', clientSecret: creds.clientSecret }
      : { kind: 'certificate', certificatePem: creds.certificatePem, privateKeyPem: creds.privateKeyPem };
  }
  if (connector.auth_method === 'OAUTH' && settings.oauthClientSecret) return { kind: 'secret', clientSecret: settings.oauthClientSecret };
  throw new ConnectorNotReady('the connector has no credentials; add a client secret or certificate');
}
