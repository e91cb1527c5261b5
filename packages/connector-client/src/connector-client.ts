import { GraphClient, type GraphAuth, type GraphClientOptions } from '@warden/graph-core';
import { consentComplete, type ConnectorRow } from '@warden/database';
import { openCredentials, type ConnectorCredentials, type HostAllowlist, type SecretBox } from '@warden/service-kit';

/** The columns of a connector row that decide its Graph client. */
export type ConnectorEndpoints = Pick<
  ConnectorRow,
  | 'id'
  | 'display_name'
  | 'auth_method'
  | 'tenant_id'
  | 'client_id'
  | 'graph_base_url'
  | 'authority_host'
  | 'secret_ciphertext'
  | 'consented_tenant_id'
  | 'consent_verified_at'
>;

/**
 * Why a connector cannot be given a Graph client. The caller words it (a sync run and a
 * provisioning task say different things) and picks the error class (`refuse`).
 */
export type ConnectorProblem =
  /** `refusal`: HostAllowlist.refusalFor's text (which endpoint, its value, why, what to do). */
  | { kind: 'host-refused'; refusal: string }
  /** An OAUTH connector without a verified admin consent for the tenant it names. */
  | { kind: 'no-consent' }
  | { kind: 'missing'; what: 'tenant id' | 'client id' }
  | { kind: 'no-credentials' };

/** The deployment's multi-tenant app (OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET), used by OAUTH connectors. */
export interface OAuthApp {
  clientId?: string | undefined;
  clientSecret?: string | undefined;
}

export interface ConnectorClientSettings<C extends ConnectorEndpoints = ConnectorEndpoints> {
  /** Opens the connector's sealed credentials (WARDEN_SECRET_KEYS). */
  box: SecretBox;
  /** ALLOWED_GRAPH_HOSTS: a stored endpoint no longer on it is refused before any token request. */
  allowlist?: HostAllowlist | undefined;
  oauth?: OAuthApp | undefined;
  /** The caller's error for a problem; thrown as it is. */
  refuse: (problem: ConnectorProblem, connector: C) => Error;
}

/** What a connector contributes to GraphClientOptions; the caller adds priority, budget, logger, metrics. */
export type ConnectorGraphOptions = Pick<GraphClientOptions, 'tenantId' | 'clientId' | 'auth' | 'graphBaseUrl' | 'authorityHost'>;
export type ClientTuning = Omit<GraphClientOptions, keyof ConnectorGraphOptions>;

/** Stored credentials as graph-core's auth option. */
export function graphAuthOf(credentials: ConnectorCredentials): GraphAuth {
  return credentials.kind === 'secret'
    ? { kind: 'secret', clientSecret: credentials.clientSecret }
    : { kind: 'certificate', certificatePem: credentials.certificatePem, privateKeyPem: credentials.privateKeyPem };
}

/**
 * Before any token request or Graph call, whichever client is used: the connector's stored
 * graphBaseUrl / authorityHost must still be on ALLOWED_GRAPH_HOSTS (the list may have shrunk since
 * the connector was saved), and the deployment's app may act only in a tenant whose admin consent
 * was verified. Throws `settings.refuse(problem)`.
 */
export function assertConnectorUsable<C extends ConnectorEndpoints>(
  connector: C,
  settings: Pick<ConnectorClientSettings<C>, 'allowlist' | 'refuse'>,
): void {
  const refusal = settings.allowlist?.refusalFor(connector);
  if (refusal) throw settings.refuse({ kind: 'host-refused', refusal }, connector);
  if (!consentComplete(connector)) throw settings.refuse({ kind: 'no-consent' }, connector);
}

/**
 * The connector's identity and endpoints as GraphClientOptions: its tenant, its client id (an OAUTH
 * connector without one uses the deployment's app), its sealed credentials opened (an OAUTH connector
 * without any uses the deployment's app secret). Does not check hosts or consent
 * (assertConnectorUsable does).
 */
export function connectorGraphOptions<C extends ConnectorEndpoints>(
  connector: C,
  settings: ConnectorClientSettings<C>,
): ConnectorGraphOptions {
  const tenantId = connector.tenant_id;
  if (!tenantId) throw settings.refuse({ kind: 'missing', what: 'tenant id' }, connector);
  const clientId = connector.auth_method === 'OAUTH' ? (connector.client_id ?? settings.oauth?.clientId ?? null) : connector.client_id;
  if (!clientId) throw settings.refuse({ kind: 'missing', what: 'client id' }, connector);
  return {
    tenantId,
    clientId,
    auth: authOf(connector, settings),
    graphBaseUrl: connector.graph_base_url,
    authorityHost: connector.authority_host,
  };
}

function authOf<C extends ConnectorEndpoints>(connector: C, settings: ConnectorClientSettings<C>): GraphAuth {
  if (connector.secret_ciphertext) return graphAuthOf(openCredentials(settings.box, connector.id, connector.secret_ciphertext));
  if (connector.auth_method === 'OAUTH' && settings.oauth?.clientSecret)
    return { kind: 'secret', clientSecret: settings.oauth.clientSecret };
  throw settings.refuse({ kind: 'no-credentials' }, connector);
}

/** assertConnectorUsable, then a GraphClient with the connector's options and the caller's tuning. */
export function connectorGraphClient<C extends ConnectorEndpoints>(
  connector: C,
  settings: ConnectorClientSettings<C>,
  tuning: ClientTuning = {},
): GraphClient {
  assertConnectorUsable(connector, settings);
  return new GraphClient({ ...connectorGraphOptions(connector, settings), ...tuning });
}

/** Credentials not stored yet (the gateway checks them before saving a connector). */
export interface CredentialsInput {
  tenantId: string;
  clientId: string;
  authorityHost: string;
  graphBaseUrl: string;
  credentials: ConnectorCredentials;
}

/** A GraphClient for credentials given directly. The caller checks the endpoints against the allowlist. */
export function credentialsGraphClient(input: CredentialsInput, tuning: ClientTuning = {}): GraphClient {
  return new GraphClient({
    tenantId: input.tenantId,
    clientId: input.clientId,
    auth: graphAuthOf(input.credentials),
    graphBaseUrl: input.graphBaseUrl,
    authorityHost: input.authorityHost,
    ...tuning,
  });
}
