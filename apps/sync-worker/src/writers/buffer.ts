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

  /**
   * The three tables are written at once, each on its own pooled connection: no row of one refers to
   * another's (no foreign keys between them), and an incremental page's write is a chain of round
   * trips on the run's longest path (issue 17: ≤ 1 s at L), so three in a row cost two round trips more.
   */
  async flush(db: Kysely<Database>, connectorId: string, markRunId: string | null, extra?: () => Promise<number>): Promise<number> {
    const parts = await Promise.all([
      upsertResources(db, connectorId, this.resources, markRunId),
      upsertEntitlements(db, connectorId, this.entitlements, markRunId),
      upsertDirectGrants(db, connectorId, this.grants, { markRunId, assignmentIdFromGraph: false, expiryFromGraph: false }),
      extra ? extra() : Promise.resolve(0),
    ]);
    return parts.reduce((a, b) => a + b, 0);
  }
}
