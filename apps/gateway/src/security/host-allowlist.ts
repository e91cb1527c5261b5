import { HostAllowlist as SharedHostAllowlist, HostNotAllowedError } from '@warden/schema';
import { BadUserInputError } from '../errors';

/**
 * Where connectors may send credentials. The rule itself lives in `@warden/schema`
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
}
