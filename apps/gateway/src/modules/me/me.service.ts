import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import type { Caller } from '../../auth/roles';
import { toResource, type Resource } from '../resources/resource.type';

/** Who the caller is in the synced tenants. */
export class MeService {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The USER resources that are the caller: in every connector whose tenant is the token's `tid`
   * (the tenant id typed for it, or the one a verified admin consent recorded), the user whose Graph
   * object id is the token's `oid`. One statement; none without both claims. A connector whose
   * tenant was given as a domain name (contoso.onmicrosoft.com) cannot be matched to a `tid`.
   */
  async identities(caller: Caller): Promise<Resource[]> {
    if (!caller.tid || !caller.oid) return [];
    const tid = caller.tid.toLowerCase();
    const rows = await this.db
      .selectFrom('resources as r')
      .innerJoin('connectors as c', 'c.id', 'r.connector_id')
      .select(['r.id', 'r.connector_id', 'r.type', 'r.external_id', 'r.display_name', 'r.profile'])
      .where('r.type', '=', 'USER')
      .where('r.external_id', '=', caller.oid)
      .where((eb) => eb.or([eb(sql<string>`lower(c.tenant_id)`, '=', tid), eb(sql<string>`lower(c.consented_tenant_id)`, '=', tid)]))
      .orderBy('c.display_name')
      .orderBy('c.id')
      .execute();
    return rows.map(toResource);
  }
}
