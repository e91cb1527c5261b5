import { AccessRequestError, listPolicies, setAccessPolicy, type AccessPolicyInput } from '@warden/access-model';
import type { AccessPolicyRow } from '@warden/database';
import { actorDetails } from '../../auth/audit-actor';
import { requireConnectorWriter } from '../../auth/authorize';
import type { Caller } from '../../auth/roles';
import type { GatewayDeps } from '../../context';
import { NotFoundError } from '../../errors';
import { isUuid } from '../../pagination/cursor';
import { asGatewayError } from '../requests/access-request.service';

/** Access policies: read by every platform role, set by SUPER_ADMIN or the connector's CONNECTOR_ADMIN owners. */
export class AccessPolicyService {
  constructor(private readonly deps: GatewayDeps) {}

  private async connector(id: string) {
    const c = isUuid(id)
      ? await this.deps.db.selectFrom('connectors').select(['id', 'display_name', 'owners']).where('id', '=', id).executeTakeFirst()
      : undefined;
    if (!c) throw new NotFoundError(`connector ${id} does not exist`);
    return c;
  }

  async list(connectorId: string): Promise<AccessPolicyRow[]> {
    await this.connector(connectorId);
    return listPolicies(this.deps.db, connectorId);
  }

  async set(caller: Caller, input: AccessPolicyInput): Promise<AccessPolicyRow> {
    const connector = await this.connector(input.connectorId);
    const who = requireConnectorWriter(caller, connector);
    if (input.entitlementId && !isUuid(input.entitlementId)) throw new NotFoundError(`entitlement ${input.entitlementId} does not exist`);
    try {
      return await setAccessPolicy(this.deps.db, { subject: who.sub, auditDetails: actorDetails(who) }, input);
    } catch (err) {
      if (err instanceof AccessRequestError) throw asGatewayError(err);
      throw err;
    }
  }
}
