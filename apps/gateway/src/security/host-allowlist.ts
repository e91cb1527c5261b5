import { BadUserInputError } from '../errors';

/**
 * Where connectors may send credentials. Entries are `host`, `host:port` or `https://host[:port]`;
 * an entry without a port allows only the default https port, so allowing `localhost:8443` for the
 * emulator does not open every local service.
 */
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

  /** Returns the normalised origin (no path, no trailing slash) or throws BAD_USER_INPUT. */
  check(field: string, value: string): string {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new BadUserInputError(`${field} is not a URL`);
    }
    if (url.protocol !== 'https:') throw new BadUserInputError(`${field} must use https`);
    if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
      throw new BadUserInputError(`${field} must be an origin such as https://graph.microsoft.com (no path, query or credentials)`);
    }
    const host = url.hostname.toLowerCase();
    const key = url.port ? `${host}:${url.port}` : host;
    if (!this.entries.has(key)) throw new BadUserInputError(`${field} host '${key}' is not in this deployment's ALLOWED_GRAPH_HOSTS`);
    return url.origin;
  }
}
