import { ENTITLEMENT_KINDS } from '@warden/access-model';
import { assignmentObjectOperation } from './assignment-object';
import { isAlreadyAbsent } from './graph-errors';
import type { HeldState, Operation, OperationInput } from './types';

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

async function find(i: OperationInput): Promise<HeldState> {
  try {
    for await (const page of i.graph.pages<AppRoleAssignment>(
      `/v1.0/servicePrincipals/${i.resourceId}/appRoleAssignedTo?$select=id,principalId,appRoleId`,
      { signal: i.signal },
    )) {
      const hit = page.items.find((a) => a.principalId === i.principalId && a.appRoleId === roleId(i));
      if (hit) return { held: true, graphAssignmentId: hit.id };
    }
  } catch (err) {
    // The application itself is gone: nothing of it is held.
    if (isAlreadyAbsent(err)) return { held: false, graphAssignmentId: null };
    throw err;
  }
  return { held: false, graphAssignmentId: null };
}

export const appAssignment: Operation = assignmentObjectOperation({
  kind: 'APP_ASSIGNMENT',
  permissions,
  async create(i) {
    const res = await i.graph.request<AppRoleAssignment>('POST', `/v1.0/servicePrincipals/${i.resourceId}/appRoleAssignedTo`, {
      body: { principalId: i.principalId, resourceId: i.resourceId, appRoleId: roleId(i) },
      signal: i.signal,
    });
    return { id: res.body?.id ?? null, requestId: res.requestId };
  },
  deleteUrl: (i, id) => `/v1.0/servicePrincipals/${i.resourceId}/appRoleAssignedTo/${id}`,
  find,
});
