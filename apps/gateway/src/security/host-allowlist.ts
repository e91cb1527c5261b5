import { HostAllowlist as SharedHostAllowlist, HostNotAllowedError } from '@warden/service-kit';
import { BadUserInputError } from '../errors';
import type { CredentialProbe, ProbeInput, ProbeResult } from '../modules/connectors/credential-probe';

/**
 * Where connectors may send credentials. The rule itself lives in `@warden/service-kit`
 * (config/host-allowlist.ts) so the gateway and both workers apply one implementation; here a
 * refusal becomes BAD_USER_INPUT for the GraphQL caller.
 */
export class HostAllowlist {
  private readonly shared: SharedHostAllowlist;

  constructor(config: string) {
    this.shared = new SharedHostAllowlist(config);
  }

  /** Returns the normalised origin (no path, no trailing slash) or throws BAD_USER_INPUT. */
  check(field: string, value: string): string {
    try {
      return this.shared.check(field, value);
    } catch (err) {
      if (err instanceof HostNotAllowedError) throw new BadUserInputError(err.message);
      throw err;
    }
  }

  /** The first of a probe's endpoints that is not allowed (the shared rule), or null. */
  refusedEndpoint(endpoints: { graphBaseUrl: string; authorityHost: string }): HostNotAllowedError | null {
    return this.shared.refusedEndpoint(endpoints)?.error ?? null;
  }
}

/**
 * Every credential check of the gateway (create, update, the admin-consent callback) goes through
 * this wrapper, which re-checks the URLs it is given: a connector saved while its host was allowed
 * is not probed (no credentials sent) once ALLOWED_GRAPH_HOSTS no longer has it; the probe answers
 * with the reason, which becomes the connector's ERROR status message.
 */
export function allowlistedProbe(probe: CredentialProbe, allowlist: HostAllowlist): CredentialProbe {
  return {
    async probe(input: ProbeInput, signal?: AbortSignal): Promise<ProbeResult> {
      const refused = allowlist.refusedEndpoint(input);
      if (refused) return { ok: false, message: `not contacted: the connector's stored ${refused.message}` };
      return probe.probe(input, signal);
    },
  };
}
