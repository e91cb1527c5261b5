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

/** The profile fields the API serves. */
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

/**
 * `managerKnown`: the object comes from a full listing with `$expand=manager($select=id)`, where a
 * missing `manager` means none. In a delta round `manager@delta` comes only with a new user or a
 * manager change (the new one, the old one `@removed`); without it the stored managerId is kept
 * (the writer keeps profile keys a page does not carry, see STICKY_PROFILE_KEYS).
 */
export function mapUser(u: Partial<GraphUser> & { id: string }, opts: { managerKnown?: boolean } = {}): ResourceInput {
  const managerDelta = u['manager@delta'];
  const managerId =
    managerDelta !== undefined
      ? str(managerDelta.find((m) => !m['@removed'])?.id)
      : u.manager !== undefined || opts.managerKnown
        ? str(u.manager?.id)
        : undefined;
  const profile = {
    userPrincipalName: str(u.userPrincipalName),
    mail: str(u.mail),
    accountEnabled: typeof u.accountEnabled === 'boolean' ? u.accountEnabled : null,
    userType: str(u.userType),
    department: str(u.department),
    jobTitle: str(u.jobTitle),
    employeeId: str(u.employeeId),
    ...(managerId !== undefined ? { managerId } : {}),
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
    // Users delta tracks the manager reference when `manager` is selected (manager@delta); the full
    // listing expands it (one property per user, no extra request).
    initialPath: `/v1.0/users/delta?$select=${USER_SELECT.join(',')},manager`,
    listPath: `/v1.0/users?$select=${USER_SELECT.join(',')}&$expand=manager($select=id)`,
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
    const object = c.manager
      ? { ...c.object, 'manager@delta': c.manager.map((m) => (m.removed ? { id: m.id, '@removed': {} } : { id: m.id })) }
      : c.object;
    out.resources.push(mapUser(object, { managerKnown: pass.full }));
  }
}
