/**
 * The one rule for where connectors may send credentials and Graph calls, used by the gateway (when a
 * connector is created or changed) and by both workers (before every run or task, so a host removed
 * from `ALLOWED_GRAPH_HOSTS` stops being called even for connectors stored before the change).
 *
 * Entries are `host`, `host:port` or `https://host[:port]`; an entry without a port allows only the
 * default https port, so allowing `localhost:8443` for the emulator does not open every local service.
 */
export const DEFAULT_ALLOWED_GRAPH_HOSTS = [
  'graph.microsoft.com',
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
].join(',');

/** A URL that the allowlist refuses; `message` names the field and the reason. */
export class HostNotAllowedError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'HostNotAllowedError';
  }
}

export class HostAllowlist {
  private readonly entries: Set<string>;

  constructor(config: string) {
    this.entries = new Set(
      config
        .split(',')
        .map((e) => e.trim().toLowerCase())
        .filter(Boolean)
        .map((e) => {
          const url = new URL(e.includes('://') ? e : `https://${e}`);
          return url.port ? `${url.hostname}:${url.port}` : url.hostname;
        }),
    );
  }

  /** Returns the normalised origin (no path, no trailing slash) or throws HostNotAllowedError. */
  check(field: string, value: string): string {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new HostNotAllowedError(field, `${field} is not a URL`);
    }
    if (url.protocol !== 'https:') throw new HostNotAllowedError(field, `${field} must use https`);
    if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
      throw new HostNotAllowedError(
        field,
        `${field} must be an origin such as https://graph.microsoft.com (no path, query or credentials)`,
      );
    }
    const host = url.hostname.toLowerCase();
    const key = url.port ? `${host}:${url.port}` : host;
    if (!this.entries.has(key))
      throw new HostNotAllowedError(field, `${field} host '${key}' is not in this deployment's ALLOWED_GRAPH_HOSTS`);
    return url.origin;
  }

  /**
   * A stored connector's endpoints (columns graph_base_url / authority_host) checked again: null when
   * both are allowed, else a message saying which one is not and why.
   */
  refusalFor(connector: { graph_base_url: string; authority_host: string }): string | null {
    const refused = this.refusedEndpoint({ graphBaseUrl: connector.graph_base_url, authorityHost: connector.authority_host });
    if (!refused) return null;
    return `refused to call the connector's stored ${refused.field} ${refused.value}: ${refused.error.message} (allow the host again or point the connector at an allowed host)`;
  }

  /**
   * The first of a connector's two endpoints (graphBaseUrl, then authorityHost) that is not allowed,
   * or null. The workers (refusalFor, through @warden/connector-client) and the gateway's credential
   * probe word it each their own way.
   */
  refusedEndpoint(endpoints: {
    graphBaseUrl: string;
    authorityHost: string;
  }): { field: 'graphBaseUrl' | 'authorityHost'; value: string; error: HostNotAllowedError } | null {
    for (const [field, value] of [
      ['graphBaseUrl', endpoints.graphBaseUrl],
      ['authorityHost', endpoints.authorityHost],
    ] as const) {
      try {
        this.check(field, value);
      } catch (err) {
        if (!(err instanceof HostNotAllowedError)) throw err;
        return { field, value, error: err };
      }
    }
    return null;
  }
}
