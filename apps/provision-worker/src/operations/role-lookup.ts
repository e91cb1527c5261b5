import { GraphError } from '@warden/graph-core';
import type { OperationInput } from './types';

interface RoleObject {
  id: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId?: string;
}

/**
 * Finds the role assignment or eligibility schedule of the principal for the role at the input's
 * directoryScopeId ('/' tenant-wide, or an administrative unit or application for scoped roles).
 * Graph documents `$filter=principalId eq` on both collections; when a service refuses the filter
 * the whole collection is paged instead (slower, still correct).
 */
export async function findRoleObject(collection: string, i: OperationInput): Promise<RoleObject | null> {
  const match = (o: RoleObject) =>
    o.principalId === i.principalId &&
    o.roleDefinitionId === i.resourceId &&
    (o.directoryScopeId ?? '/').toLowerCase() === i.directoryScopeId.toLowerCase();
  const scan = async (path: string) => {
    for await (const page of i.graph.pages<RoleObject>(path, { signal: i.signal })) {
      const hit = page.items.find(match);
      if (hit) return hit;
    }
    return null;
  };
  try {
    return await scan(`${collection}?$filter=${encodeURIComponent(`principalId eq '${i.principalId}'`)}`);
  } catch (err) {
    if (err instanceof GraphError && err.status === 400) return scan(collection);
    throw err;
  }
}
