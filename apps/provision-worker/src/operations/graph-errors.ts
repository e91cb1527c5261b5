import { GraphError } from '@warden/graph-core';
import { PermanentFailure, type OperationInput } from './types';

/** Graph's idempotent "already there" answers to a grant (access-model.md, graph-api.md §5). */
const ALREADY_EXISTS = [
  /added object references already exist/i,
  /permission being assigned already exists/i,
  /conflicting object .* is present/i,
  /already exists/i,
];
const ALREADY_ABSENT = [/removed object references do not exist/i, /does not exist/i, /not found/i];

export function isAlreadyExists(err: unknown): err is GraphError {
  if (!(err instanceof GraphError)) return false;
  if (err.code === 'RoleAssignmentExists') return true;
  return (err.status === 400 || err.status === 409) && ALREADY_EXISTS.some((re) => re.test(err.graphMessage));
}

/** A revoke of something not held: 404 on the reference, or Graph's 400 "do not exist" wording. */
export function isAlreadyAbsent(err: unknown): err is GraphError {
  if (!(err instanceof GraphError)) return false;
  if (err.status === 404) return true;
  if (/RoleAssignmentDoesNotExist|RoleEligibilityScheduleDoesNotExist|ResourceNotFound/i.test(err.code)) return true;
  return err.status === 400 && ALREADY_ABSENT.some((re) => re.test(err.graphMessage));
}

/** Graph errors that retrying later may fix: the task is redelivered instead of failing. */
export function isTransient(err: unknown): boolean {
  if (err instanceof GraphError) return err.status === 429 || err.status >= 500;
  return !(err instanceof PermanentFailure);
}

/**
 * Turns a Graph error of a write into the admin-facing failure, or returns null when it is not
 * permanent. 404 on a grant names which side is gone; 403 names the permissions that allow the write.
 */
export function permanentFailure(err: unknown, input: OperationInput, permissions: readonly string[]): PermanentFailure | null {
  if (!(err instanceof GraphError) || isTransient(err)) return null;
  const at = err.requestId ? ` (Graph request-id ${err.requestId})` : '';
  if (err.status === 403) {
    return new PermanentFailure(
      `Graph refused the change (403 ${err.code}): the connector's app needs the application permission ${permissions.join(' or ')}` +
        ` with admin consent${at}. Graph said: ${err.graphMessage}`,
      err.requestId,
    );
  }
  if (err.status === 404) {
    const who = err.graphMessage.includes(input.principalId)
      ? `the principal ${describe(input.principalName, input.principalId)} no longer exists in the tenant`
      : err.graphMessage.includes(input.resourceId)
        ? `${describe(input.resourceName, input.resourceId)} no longer exists in the tenant`
        : `the principal ${describe(input.principalName, input.principalId)} or ${describe(input.resourceName, input.resourceId)} no longer exists in the tenant`;
    return new PermanentFailure(`${who}; a sync will remove it from Warden${at}`, err.requestId);
  }
  return new PermanentFailure(`Graph refused the change (${err.status} ${err.code}): ${err.graphMessage}${at}`, err.requestId);
}

function describe(name: string, id: string): string {
  return name && name !== id ? `'${name}' (${id})` : id;
}
