import { missingPermissions } from '@warden/graph-core';

// One home for the permission sets of reference/access-model.md: graph-core, which the workers use too.
export { READ_PERMISSIONS, PROVISIONING_PERMISSIONS, missingPermissions } from '@warden/graph-core';

/** What the contract's `missingPermissions` lists: needed for sync or provisioning, not granted. */
export function allMissing(granted: readonly string[]): string[] {
  const m = missingPermissions(granted);
  return [...new Set([...m.forSync, ...m.forProvisioning])].sort();
}
