import { ENTITLEMENT_KINDS } from '@warden/access-model';
import { isAlreadyAbsent, isAlreadyExists, permanentFailure } from './graph-errors';
import { findRoleObject } from './role-lookup';
import type { HeldState, Operation, OperationInput, OperationResult } from './types';

const permissions = ENTITLEMENT_KINDS.ROLE_ASSIGNED.write;
const COLLECTION = '/v1.0/roleManagement/directory/roleAssignments';

async function grant(i: OperationInput): Promise<OperationResult> {
  try {
    const res = await i.graph.request<{ id?: string }>('POST', COLLECTION, {
      body: {
        '@odata.type': '#microsoft.graph.unifiedRoleAssignment',
        roleDefinitionId: i.resourceId,
        principalId: i.principalId,
        directoryScopeId: '/',
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

export const roleAssignment: Operation = { kind: 'ROLE_ASSIGNED', permissions, grant, revoke, probe };
