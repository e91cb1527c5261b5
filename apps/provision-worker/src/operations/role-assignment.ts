import { ENTITLEMENT_KINDS, type EntitlementKind } from '@warden/access-model';
import { isAlreadyAbsent, isAlreadyExists, permanentFailure } from './graph-errors';
import { findRoleObject } from './role-lookup';
import type { HeldState, Operation, OperationInput, OperationResult } from './types';

const COLLECTION = '/v1.0/roleManagement/directory/roleAssignments';

/**
 * Active directory-role assignments: tenant-wide (ROLE_ASSIGNED) or over an administrative unit or
 * application (ROLE_ASSIGNED_SCOPED; the scope comes from the entitlement's slug as the input's
 * directoryScopeId). Grant POSTs the assignment with its scope; revoke DELETEs it by its id.
 */
function roleAssignmentOperation(kind: Extract<EntitlementKind, 'ROLE_ASSIGNED' | 'ROLE_ASSIGNED_SCOPED'>): Operation {
  const permissions = ENTITLEMENT_KINDS[kind].write;

  async function grant(i: OperationInput): Promise<OperationResult> {
    try {
      const res = await i.graph.request<{ id?: string }>('POST', COLLECTION, {
        body: {
          '@odata.type': '#microsoft.graph.unifiedRoleAssignment',
          roleDefinitionId: i.resourceId,
          principalId: i.principalId,
          directoryScopeId: i.directoryScopeId,
        },
        signal: i.signal,
      });
      return { effect: 'applied', graphAssignmentId: res.body?.id ?? null, requestId: res.requestId };
    } catch (err) {
      if (!isAlreadyExists(err)) throw permanentFailure(err, i, permissions) ?? err;
      const found = await probe(i);
      return { effect: 'unchanged', graphAssignmentId: found.graphAssignmentId, requestId: err.requestId };
    }
  }

  async function revoke(i: OperationInput): Promise<OperationResult> {
    const id = i.knownAssignmentId ?? (await probe(i)).graphAssignmentId;
    if (!id) return { effect: 'unchanged', graphAssignmentId: null, requestId: null };
    try {
      const res = await i.graph.request('DELETE', `${COLLECTION}/${encodeURIComponent(id)}`, { signal: i.signal });
      return { effect: 'applied', graphAssignmentId: id, requestId: res.requestId };
    } catch (err) {
      if (!isAlreadyAbsent(err)) throw permanentFailure(err, i, permissions) ?? err;
      if (i.knownAssignmentId) {
        const again = await probe(i);
        if (again.graphAssignmentId && again.graphAssignmentId !== id) return revoke({ ...i, knownAssignmentId: again.graphAssignmentId });
      }
      return { effect: 'unchanged', graphAssignmentId: id, requestId: err.requestId };
    }
  }

  async function probe(i: OperationInput): Promise<HeldState> {
    try {
      const hit = await findRoleObject(COLLECTION, i);
      return { held: hit !== null, graphAssignmentId: hit?.id ?? null };
    } catch (err) {
      throw permanentFailure(err, i, permissions) ?? err;
    }
  }

  return { kind, permissions, grant, revoke, probe };
}

export const roleAssignment = roleAssignmentOperation('ROLE_ASSIGNED');
export const scopedRoleAssignment = roleAssignmentOperation('ROLE_ASSIGNED_SCOPED');
