import type { Kysely } from 'kysely';
import type { Bus } from '@warden/bus';
import type { AccessRequestRow, Database } from '@warden/database';

export interface RequestDeps {
  db: Kysely<Database>;
  bus: Bus;
  /** The clock (tests move it); default: the real one. */
  now?: () => Date;
}

export function nowOf(deps: RequestDeps): Date {
  return deps.now ? deps.now() : new Date();
}

/** Publishes the request's new state after its transaction committed (live subscribers only). */
export function publishUpdated(deps: RequestDeps, row: AccessRequestRow): void {
  try {
    deps.bus.publishAccessRequestUpdated({
      v: 1,
      requestId: row.id,
      connectorId: row.connector_id,
      status: row.status,
      currentStep: row.current_step,
      at: new Date().toISOString(),
    });
  } catch {
    // A closed connection loses a live event only; the row is the truth and is re-read by readers.
  }
}
