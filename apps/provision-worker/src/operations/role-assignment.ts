import { ENTITLEMENT_KINDS, type EntitlementKind } from '@warden/access-model';
import { assignmentObjectOperation } from './assignment-object';
import { findRoleObject } from './role-lookup';
import type { Operation } from './types';

const COLLECTION = '/v1.0/roleManagement/directory/roleAssignments';

/**
 * Active directory-role assignments: tenant-wide (ROLE_ASSIGNED) or over an administrative unit or
 * application (ROLE_ASSIGNED_SCOPED; the scope comes from the entitlement's slug as the input's
 * directoryScopeId). Grant POSTs the assignment with its scope; revoke DELETEs it by its id.
 */
function roleAssignmentOperation(kind: Extract<EntitlementKind, 'ROLE_ASSIGNED' | 'ROLE_ASSIGNED_SCOPED'>): Operation {
  return assignmentObjectOperation({
    kind,
    permissions: ENTITLEMENT_KINDS[kind].write,
    async create(i) {
      const res = await i.graph.request<{ id?: string }>('POST', COLLECTION, {
        body: {
          '@odata.type': '#microsoft.graph.unifiedRoleAssignment',
          roleDefinitionId: i.resourceId,
          principalId: i.principalId,
          directoryScopeId: i.directoryScopeId,
        },
        signal: i.signal,
      });
      return { id: res.body?.id ?? null, requestId: res.requestId };
    },
    deleteUrl: (_i, id) => `${COLLECTION}/${encodeURIComponent(id)}`,
    async find(i) {
      const hit = await findRoleObject(COLLECTION, i);
      return { held: hit !== null, graphAssignmentId: hit?.id ?? null };
    },
  });
}

export const roleAssignment = roleAssignmentOperation('ROLE_ASSIGNED');
export const scopedRoleAssignment = roleAssignmentOperation('ROLE_ASSIGNED_SCOPED');
