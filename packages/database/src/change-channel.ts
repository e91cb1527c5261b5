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

/** The channel on which those changes are announced (payload: the table name), see migration 0002. */
export const CHANGE_CHANNEL = 'warden_changes';
