import type { Kysely } from 'kysely';
import type { Database } from '@warden/database';
import type { DirectGrantInput, EntitlementInput, ResourceInput } from '../model';
import { upsertEntitlements } from './entitlements';
import { upsertDirectGrants } from './grants';
import { upsertResources } from './resources';

/**
 * Rows collected from several delta pages and written together: a few thousand rows per statement
 * instead of one small statement per page. Grants here are memberships and ownerships (no
 * assignment id, expiry kept as provisioning set it).
 */
export class WriteBuffer {
  resources: ResourceInput[] = [];
  entitlements: EntitlementInput[] = [];
  grants: DirectGrantInput[] = [];

  get size(): number {
    return this.resources.length + this.entitlements.length + this.grants.length;
  }

  async flush(db: Kysely<Database>, connectorId: string, markRunId: string | null): Promise<number> {
    let written = await upsertResources(db, connectorId, this.resources, markRunId);
    written += await upsertEntitlements(db, connectorId, this.entitlements, markRunId);
    written += await upsertDirectGrants(db, connectorId, this.grants, { markRunId, assignmentIdFromGraph: false, expiryFromGraph: false });
    return written;
  }
}
