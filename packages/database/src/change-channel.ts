/** Tables whose rows the GraphQL API serves; a committed change to any of them is announced. */
export const SERVED_TABLES = [
  'connectors',
  'resources',
  'entitlements',
  'grants',
  'sync_runs',
  'provisioning_tasks',
  'audit_events',
  'connector_logs',
] as const;

export type ServedTable = (typeof SERVED_TABLES)[number];

/** The column naming a served row's connector (the connectors table is its own). */
export const CONNECTOR_COLUMN: Record<ServedTable, 'id' | 'connector_id'> = {
  connectors: 'id',
  resources: 'connector_id',
  entitlements: 'connector_id',
  grants: 'connector_id',
  sync_runs: 'connector_id',
  provisioning_tasks: 'connector_id',
  audit_events: 'connector_id',
  connector_logs: 'connector_id',
};

/**
 * The channel on which those changes are announced, once per statement that changed rows of a served
 * table, delivered after commit in commit order (migrations 0002 and 0011). Payload:
 * - `<table>:<connector id>[,<connector id>…]` — the statement changed rows of these connectors only;
 * - `<table>` — it may have changed rows of any connector (TRUNCATE, rows without a connector, or more
 *   connectors than a payload holds).
 * - `grants:<connector id>,e=<entitlement key>,…,p=<principal external id>,…` — a statement that changed
 *   at most 200 grants of one connector also names their entitlements and principals (migration 0017);
 *   parseChangePayload returns those items among the connectors, where they match no connector id.
 * Writers need not do anything: the triggers read the changed rows. A reader must treat a payload it
 * cannot parse as a change to everything.
 */
export const CHANGE_CHANNEL = 'warden_changes';

export interface ChangeNotice {
  table: string;
  /** null: any connector. */
  connectors: string[] | null;
}

/** Reads a CHANGE_CHANNEL payload (see above). */
export function parseChangePayload(payload: string): ChangeNotice {
  const i = payload.indexOf(':');
  if (i < 0) return { table: payload, connectors: null };
  return { table: payload.slice(0, i), connectors: payload.slice(i + 1).split(',') };
}
