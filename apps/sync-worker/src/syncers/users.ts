import type { DeltaPage } from '@warden/graph-core';
import { searchText, str, type ResourceInput } from '../model';
import type { RunSession } from '../runs/session';
import { unmarkRun } from '../writers/marks';
import type { WriteBuffer } from '../writers/buffer';
import { countObjects } from './count';
import { bump, runDeltaStream, type PassState } from './delta-stream';

export interface GraphUser {
  id: string;
  displayName?: string | null;
  userPrincipalName?: string | null;
  mail?: string | null;
  accountEnabled?: boolean | null;
  userType?: string | null;
  department?: string | null;
  jobTitle?: string | null;
  employeeId?: string | null;
  createdDateTime?: string | null;
  manager?: { id?: string } | null;
  'manager@delta'?: { id?: string; '@removed'?: unknown }[];
}

/**
 * Graph does not let the tenant's emulator (and not every tenant) track `manager` in users delta;
 * when it does, `manager@delta` carries the id. Listed fields are the profile the API serves.
 */
export const USER_SELECT = [
  'id',
  'displayName',
  'userPrincipalName',
  'mail',
  'accountEnabled',
  'userType',
  'department',
  'jobTitle',
  'employeeId',
  'createdDateTime',
];

export function mapUser(u: Partial<GraphUser> & { id: string }): ResourceInput {
  const managerLink = u['manager@delta']?.find((m) => !m['@removed']);
  const profile = {
    userPrincipalName: str(u.userPrincipalName),
    mail: str(u.mail),
    accountEnabled: typeof u.accountEnabled === 'boolean' ? u.accountEnabled : null,
    userType: str(u.userType),
    department: str(u.department),
    jobTitle: str(u.jobTitle),
    employeeId: str(u.employeeId),
    managerId: str(managerLink?.id ?? u.manager?.id),
    createdDateTime: str(u.createdDateTime),
  };
  const displayName = str(u.displayName) ?? '';
  return {
    type: 'USER',
    externalId: u.id,
    displayName,
    profile,
    searchText: searchText(displayName, profile.userPrincipalName, profile.mail),
  };
}

/** Users (members, guests, disabled) through users delta. */
export async function syncUsers(s: RunSession): Promise<void> {
  await runDeltaStream<GraphUser>(s, {
    stream: 'users',
    label: 'users',
    initialPath: `/v1.0/users/delta?$select=${USER_SELECT.join(',')}`,
    listPath: `/v1.0/users?$select=${USER_SELECT.join(',')}`,
    count: () => countObjects(s, 'users'),
    unmark: () => unmarkRun(s.db, s.connectorId, s.runId, 'users'),
    apply: async (page, pass, out) => applyUsersPage(page, pass, out),
  });
}

function applyUsersPage(page: DeltaPage<GraphUser>, pass: PassState, out: WriteBuffer): void {
  for (const c of page.changes) {
    if (c.kind === 'removed') {
      pass.pending.resource(c.id, pass.startedAt);
      bump(pass.counters, 'removed');
      continue;
    }
    pass.pending.keepResource(c.id);
    out.resources.push(mapUser(c.object));
  }
}
