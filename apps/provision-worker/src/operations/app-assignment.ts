import { ENTITLEMENT_KINDS } from '@warden/access-model';
import { isAlreadyAbsent, isAlreadyExists, permanentFailure } from './graph-errors';
import type { HeldState, Operation, OperationInput, OperationResult } from './types';

const DEFAULT_ACCESS = '00000000-0000-0000-0000-000000000000';
const permissions = ENTITLEMENT_KINDS.APP_ASSIGNMENT.write;

interface AppRoleAssignment {
  id: string;
  principalId: string;
  appRoleId: string;
  resourceId?: string;
}

function roleId(i: OperationInput): string {
  return i.appRoleId ?? DEFAULT_ACCESS;
}

async function grant(i: OperationInput): Promise<OperationResult> {
  try {
    const res = await i.graph.request<AppRoleAssignment>('POST', `/v1.0/servicePrincipals/${i.resourceId}/appRoleAssignedTo`, {
      body: { principalId: i.principalId, resourceId: i.resourceId, appRoleId: roleId(i) },
      signal: i.signal,
    });
    return { effect: 'applied', graphAssignmentId: res.body?.id ?? null, requestId: res.requestId };
  } catch (err) {
    if (!isAlreadyExists(err)) throw permanentFailure(err, i, permissions) ?? err;
    // Revoking later needs the assignment id, which the duplicate answer does not carry.
    const found = await probe(i);
    return { effect: 'unchanged', graphAssignmentId: found.graphAssignmentId, requestId: err.requestId };
  }
}

async function revoke(i: OperationInput): Promise<OperationResult> {
  const id = i.knownAssignmentId ?? (await probe(i)).graphAssignmentId;
  if (!id) return { effect: 'unchanged', graphAssignmentId: null, requestId: null };
  try {
    const res = await i.graph.request('DELETE', `/v1.0/servicePrincipals/${i.resourceId}/appRoleAssignedTo/${id}`, { signal: i.signal });
    return { effect: 'applied', graphAssignmentId: id, requestId: res.requestId };
  } catch (err) {
    if (!isAlreadyAbsent(err)) throw permanentFailure(err, i, permissions) ?? err;
    if (i.knownAssignmentId) {
      // Our stored id may be stale (re-assigned outside Warden): look once more before calling it done.
      const again = await probe(i);
      if (again.graphAssignmentId && again.graphAssignmentId !== id) return revoke({ ...i, knownAssignmentId: again.graphAssignmentId });
    }
    return { effect: 'unchanged', graphAssignmentId: id, requestId: err.requestId };
  }
}

async function probe(i: OperationInput): Promise<HeldState> {
  try {
    for await (const page of i.graph.pages<AppRoleAssignment>(
      `/v1.0/servicePrincipals/${i.resourceId}/appRoleAssignedTo?$select=id,principalId,appRoleId`,
      { signal: i.signal },
    )) {
      const hit = page.items.find((a) => a.principalId === i.principalId && a.appRoleId === roleId(i));
      if (hit) return { held: true, graphAssignmentId: hit.id };
    }
  } catch (err) {
    if (isAlreadyAbsent(err)) return { held: false, graphAssignmentId: null };
    throw permanentFailure(err, i, permissions) ?? err;
  }
  return { held: false, graphAssignmentId: null };
}

export const appAssignment: Operation = { kind: 'APP_ASSIGNMENT', permissions, grant, revoke, probe };
