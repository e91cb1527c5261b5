import { ENTITLEMENT_KINDS } from '@warden/access-model';
import { isAlreadyAbsent, isAlreadyExists, permanentFailure } from './graph-errors';
import { findRoleObject } from './role-lookup';
import type { HeldState, Operation, OperationInput, OperationResult } from './types';

const permissions = ENTITLEMENT_KINDS.ROLE_ELIGIBLE.write;
const REQUESTS = '/v1.0/roleManagement/directory/roleEligibilityScheduleRequests';
const SCHEDULES = '/v1.0/roleManagement/directory/roleEligibilitySchedules';

interface ScheduleRequest {
  id?: string;
  status?: string;
  targetScheduleId?: string | null;
}

function body(i: OperationInput, action: 'adminAssign' | 'adminRemove'): Record<string, unknown> {
  const base = {
    action,
    justification: i.justification,
    roleDefinitionId: i.resourceId,
    directoryScopeId: '/',
    principalId: i.principalId,
  };
  if (action === 'adminRemove') return base;
  return {
    ...base,
    scheduleInfo: {
      startDateTime: new Date().toISOString(),
      // PIM ends the eligibility itself at the grant's expiry; Warden's expiry scan is the backstop.
      expiration: i.expiresAt ? { type: 'afterDateTime', endDateTime: i.expiresAt.toISOString() } : { type: 'noExpiration' },
    },
  };
}

async function grant(i: OperationInput): Promise<OperationResult> {
  try {
    const res = await i.graph.request<ScheduleRequest>('POST', REQUESTS, { body: body(i, 'adminAssign'), signal: i.signal });
    // Revoke goes by principal + role (adminRemove), but keep the schedule id like the sync does.
    const scheduleId = res.body?.targetScheduleId ?? (await probe(i)).graphAssignmentId;
    return { effect: 'applied', graphAssignmentId: scheduleId ?? null, requestId: res.requestId };
  } catch (err) {
    if (!isAlreadyExists(err)) throw permanentFailure(err, i, permissions) ?? err;
    const found = await probe(i);
    return { effect: 'unchanged', graphAssignmentId: found.graphAssignmentId, requestId: err.requestId };
  }
}

async function revoke(i: OperationInput): Promise<OperationResult> {
  try {
    const res = await i.graph.request<ScheduleRequest>('POST', REQUESTS, { body: body(i, 'adminRemove'), signal: i.signal });
    return { effect: 'applied', graphAssignmentId: i.knownAssignmentId, requestId: res.requestId };
  } catch (err) {
    if (isAlreadyAbsent(err)) return { effect: 'unchanged', graphAssignmentId: i.knownAssignmentId, requestId: err.requestId };
    throw permanentFailure(err, i, permissions) ?? err;
  }
}

async function probe(i: OperationInput): Promise<HeldState> {
  try {
    const hit = await findRoleObject(SCHEDULES, i);
    return { held: hit !== null, graphAssignmentId: hit?.id ?? null };
  } catch (err) {
    throw permanentFailure(err, i, permissions) ?? err;
  }
}

export const roleEligibility: Operation = { kind: 'ROLE_ELIGIBLE', permissions, grant, revoke, probe };
