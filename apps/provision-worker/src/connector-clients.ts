import { GraphClient, type GraphStatsSink } from '@warden/graph-core';
import {
  assertConnectorUsable,
  connectorGraphOptions,
  type ConnectorClientSettings,
  type ConnectorProblem,
  type OAuthApp,
} from '@warden/connector-client';
import type { ConnectorRow } from '@warden/database';
import type { HostAllowlist, SecretBox } from '@warden/service-kit';
import type { Logger } from 'pino';
import { PermanentFailure } from './operations/types';

export interface HostCheck {
  /** ALLOWED_GRAPH_HOSTS, checked on every get(): a stored URL no longer allowed is refused. */
  allowlist: HostAllowlist;
  /** Told about a refusal (the worker records it on the connector: status ERROR and status_message). */
  onRefused?: (connector: ConnectorRow, message: string) => void;
}

/**
 * One GraphClient per connector, rebuilt when the connector row changes (new secret, new
 * endpoints). graph-core shares the throttle governor per (authority, tenant, app, Graph root), so
 * every task of a connector draws from one write budget.
 */
export class ConnectorClients {
  private readonly cache = new Map<string, { version: string; client: GraphClient }>();
  private readonly settings: ConnectorClientSettings<ConnectorRow>;

  constructor(
    box: SecretBox,
    private readonly logger: Logger,
    oauth: OAuthApp = {},
    /** The worker's Graph metrics (graph-core counters by tenant and route). */
    private readonly metrics?: GraphStatsSink,
    private readonly hosts?: HostCheck,
  ) {
    this.settings = { box, allowlist: hosts?.allowlist, oauth, refuse: (problem, connector) => this.refuse(problem, connector) };
  }

  /**
   * The connector's client. Throws PermanentFailure, before any token request or Graph call, when
   * the connector's stored graphBaseUrl / authorityHost is not (or no longer) on ALLOWED_GRAPH_HOSTS,
   * or when the deployment's app would act in a tenant whose admin consent was not verified.
   */
  get(connector: ConnectorRow): GraphClient {
    assertConnectorUsable(connector, this.settings);
    const version = [
      connector.tenant_id,
      connector.client_id,
      connector.auth_method,
      connector.graph_base_url,
      connector.authority_host,
      connector.secret_ciphertext,
    ].join('|');
    const hit = this.cache.get(connector.id);
    if (hit && hit.version === version) return hit.client;
    const client = new GraphClient({
      ...connectorGraphOptions(connector, this.settings),
      // Access changes are waited on by an admin; sync reads go as Low.
      priority: 'High',
      logger: this.logger.child({ connectorId: connector.id }),
      ...(this.metrics ? { metrics: this.metrics } : {}),
    });
    this.cache.set(connector.id, { version, client });
    return client;
  }

  /** A provisioning task's wording of why a connector cannot be given a Graph client. */
  private refuse(problem: ConnectorProblem, connector: ConnectorRow): PermanentFailure {
    switch (problem.kind) {
      case 'host-refused': {
        this.cache.delete(connector.id);
        const message = `Provisioning ${problem.refusal}`;
        this.hosts?.onRefused?.(connector, message);
        return new PermanentFailure(message);
      }
      case 'no-consent':
        return new PermanentFailure(
          `connector '${connector.display_name}' has no verified admin consent for its tenant; complete admin consent before provisioning`,
        );
      case 'missing':
        return new PermanentFailure(`the connector has no ${problem.what} yet; finish connecting it before provisioning`);
      case 'no-credentials':
        return new PermanentFailure(`connector '${connector.display_name}' has no credentials; add a client secret or certificate`);
    }
  }
}
