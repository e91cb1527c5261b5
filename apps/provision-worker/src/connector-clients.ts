import { GraphClient, type GraphAuth, type GraphStatsSink } from '@warden/graph-core';
import { consentComplete, type ConnectorRow } from '@warden/database';
import { openCredentials, type HostAllowlist, type SecretBox } from '@warden/service-kit';
import type { Logger } from 'pino';
import { PermanentFailure } from './operations/types';

export interface OAuthApp {
  clientId?: string;
  clientSecret?: string;
}

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

  constructor(
    private readonly box: SecretBox,
    private readonly logger: Logger,
    private readonly oauth: OAuthApp = {},
    /** The worker's Graph metrics (graph-core counters by tenant and route). */
    private readonly metrics?: GraphStatsSink,
    private readonly hosts?: HostCheck,
  ) {}

  /**
   * The connector's client. Throws PermanentFailure, before any token request or Graph call, when
   * the connector's stored graphBaseUrl / authorityHost is not (or no longer) on ALLOWED_GRAPH_HOSTS.
   */
  get(connector: ConnectorRow): GraphClient {
    const refusal = this.hosts?.allowlist.refusalFor(connector);
    if (refusal) {
      this.cache.delete(connector.id);
      const message = `Provisioning ${refusal}`;
      this.hosts?.onRefused?.(connector, message);
      throw new PermanentFailure(message);
    }
    // The deployment's app may act only in a tenant whose admin consent was verified.
    if (!consentComplete(connector)) throw new PermanentFailure(`connector '${connector.display_name}' has no verified admin consent for its tenant; complete admin consent before provisioning`);
    const version = [connector.tenant_id, connector.client_id, connector.auth_method, connector.graph_base_url, connector.authority_host, connector.secret_ciphertext].join('|');
    const hit = this.cache.get(connector.id);
    if (hit && hit.version === version) return hit.client;
    const client = new GraphClient({
      tenantId: required(connector.tenant_id, 'tenant id'),
      clientId: required(connector.auth_method === 'OAUTH' ? (connector.client_id ?? this.oauth.clientId ?? null) : connector.client_id, 'client id'),
      auth: this.auth(connector),
      graphBaseUrl: connector.graph_base_url,
      authorityHost: connector.authority_host,
      // Access changes are waited on by an admin; sync reads go as Low.
      priority: 'High',
      logger: this.logger.child({ connectorId: connector.id }),
      ...(this.metrics ? { metrics: this.metrics } : {}),
    });
    this.cache.set(connector.id, { version, client });
    return client;
  }

  private auth(connector: ConnectorRow): GraphAuth {
    if (connector.secret_ciphertext) {
      const creds = openCredentials(this.box, connector.id, connector.secret_ciphertext);
      return creds.kind === 'secret'
        ? { kind: 'secret', clientSecret: creds.clientSecret }
        : { kind: 'certificate', certificatePem: creds.certificatePem, privateKeyPem: creds.privateKeyPem };
    }
    if (connector.auth_method === 'OAUTH' && this.oauth.clientSecret) return { kind: 'secret', clientSecret: this.oauth.clientSecret };
    throw new PermanentFailure(`connector '${connector.display_name}' has no credentials; add a client secret or certificate`);
  }
}

function required(value: string | null, what: string): string {
  if (!value) throw new PermanentFailure(`the connector has no ${what} yet; finish connecting it before provisioning`);
  return value;
}
