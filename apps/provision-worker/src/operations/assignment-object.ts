import type { EntitlementKind } from '@warden/access-model';
import { isAlreadyAbsent, isAlreadyExists, permanentFailure } from './graph-errors';
import type { HeldState, Operation, OperationInput, OperationResult } from './types';

/**
 * Grants that are Graph objects of their own (app-role assignments, directory-role assignments):
 * created with one POST, removed by DELETE of their id. The rules for what Graph answers are the
 * same for each: a duplicate POST means it is already held (its id is found by `probe`, since the
 * duplicate answer does not carry it); a DELETE of a gone id means it is not held any more, unless
 * our stored id is stale (re-assigned outside Warden), which one more probe settles.
 */
export function assignmentObjectOperation(spec: {
  kind: EntitlementKind;
  permissions: readonly string[];
  /** POSTs the assignment; resolves to its id and the request id. */
  create(i: OperationInput): Promise<{ id: string | null; requestId: string | null }>;
  /** The URL that deletes assignment `id`. */
  deleteUrl(i: OperationInput, id: string): string;
  /** Finds the principal's assignment (throws Graph errors as they come). */
  find(i: OperationInput): Promise<HeldState>;
}): Operation {
  const { permissions } = spec;

  async function probe(i: OperationInput): Promise<HeldState> {
    try {
      return await spec.find(i);
    } catch (err) {
      throw permanentFailure(err, i, permissions) ?? err;
    }
  }

  async function grant(i: OperationInput): Promise<OperationResult> {
    try {
      const res = await spec.create(i);
      return { effect: 'applied', graphAssignmentId: res.id, requestId: res.requestId };
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
      const res = await i.graph.request('DELETE', spec.deleteUrl(i, id), { signal: i.signal });
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

  return { kind: spec.kind, permissions, grant, revoke, probe };
}
