import type { GraphClient, GraphStatsSink } from '@warden/graph-core';
import { assertConnectorUsable, connectorGraphClient, type ConnectorClientSettings, type ConnectorProblem } from '@warden/connector-client';
import type { ConnectorRow } from '@warden/database';
import type { HostAllowlist, SecretBox } from '@warden/service-kit';
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

/** A sync run's wording of why a connector cannot be given a Graph client. */
function refuse(problem: ConnectorProblem): Error {
  switch (problem.kind) {
    case 'host-refused':
      return new ConnectorHostRefused(`Sync ${problem.refusal}`);
    case 'no-consent':
      return new ConnectorNotReady(
        'the OAUTH connector has no verified admin consent for its tenant; complete admin consent before syncing',
      );
    case 'missing':
      return new ConnectorNotReady(`the connector has no ${problem.what} yet; finish connecting it before syncing`);
    case 'no-credentials':
      return new ConnectorNotReady('the connector has no credentials; add a client secret or certificate');
  }
}

function clientSettings(box: SecretBox, settings: GraphSettings): ConnectorClientSettings {
  return {
    box,
    allowlist: settings.allowlist,
    oauth: { clientId: settings.oauthClientId, clientSecret: settings.oauthClientSecret },
    refuse,
  };
}

/**
 * Before any token request or Graph call, whichever client is used: throws ConnectorHostRefused when
 * the connector's stored endpoints are not allowed, ConnectorNotReady when an OAUTH connector has no
 * verified admin consent (requestSync and the scheduler refuse these already, but a message on the
 * bus must not make the deployment's app read a tenant nobody verifiably consented for).
 */
export function assertConnectorSyncable(connector: ConnectorRow, settings: GraphSettings): void {
  assertConnectorUsable(connector, { allowlist: settings.allowlist, refuse });
}

/**
 * A Graph client for one run. Reads go as `x-ms-throttle-priority: Low` so that, under pressure,
 * Graph throttles the sync before interactive provisioning calls; graph-core shares the throttle
 * governor per (authority, tenant, app, Graph root) across clients in this process.
 */
export function graphClientFor(connector: ConnectorRow, box: SecretBox, settings: GraphSettings, logger: Logger): GraphClient {
  return connectorGraphClient(connector, clientSettings(box, settings), {
    priority: 'Low',
    maxConcurrency: settings.maxConcurrency,
    maxRetryTimeMs: settings.maxRetryTimeMs,
    ...(settings.ruPer10s ? { budget: { ruPer10s: settings.ruPer10s } } : {}),
    logger: logger.child({ connectorId: connector.id }),
    ...(settings.metrics ? { metrics: settings.metrics } : {}),
  });
}
