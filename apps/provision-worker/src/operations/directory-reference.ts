import { ENTITLEMENT_KINDS, type EntitlementKind } from '@warden/access-model';
import { isAlreadyAbsent, isAlreadyExists, permanentFailure } from './graph-errors';
import type { HeldState, Operation, OperationInput, OperationResult } from './types';

/**
 * Group members/owners and service principal owners are `$ref` links: POST adds, DELETE removes,
 * Graph's duplicate and missing-reference answers mean the tenant is already as requested.
 */
export interface ReferenceLink {
  /** e.g. '/v1.0/groups/{id}/members' */
  collection(input: OperationInput): string;
  permissions: readonly string[];
}

export async function addReference(link: ReferenceLink, input: OperationInput): Promise<OperationResult> {
  const root = input.graphBaseUrl.replace(/\/+$/, '');
  try {
    const res = await input.graph.request('POST', `${link.collection(input)}/$ref`, {
      body: { '@odata.id': `${root}/v1.0/directoryObjects/${input.principalId}` },
      signal: input.signal,
    });
    return { effect: 'applied', graphAssignmentId: null, requestId: res.requestId };
  } catch (err) {
    if (isAlreadyExists(err)) return { effect: 'unchanged', graphAssignmentId: null, requestId: err.requestId };
    throw permanentFailure(err, input, link.permissions) ?? err;
  }
}

export async function removeReference(link: ReferenceLink, input: OperationInput): Promise<OperationResult> {
  try {
    const res = await input.graph.request('DELETE', `${link.collection(input)}/${input.principalId}/$ref`, { signal: input.signal });
    return { effect: 'applied', graphAssignmentId: null, requestId: res.requestId };
  } catch (err) {
    if (isAlreadyAbsent(err)) return { effect: 'unchanged', graphAssignmentId: null, requestId: err.requestId };
    throw permanentFailure(err, input, link.permissions) ?? err;
  }
}

/** Whether the principal is a direct link of the collection (pages of ids; only used after a crash). */
export async function probeReference(link: ReferenceLink, input: OperationInput): Promise<HeldState> {
  try {
    for await (const page of input.graph.pages<{ id: string }>(`${link.collection(input)}?$select=id`, { signal: input.signal })) {
      if (page.items.some((o) => o.id === input.principalId)) return { held: true, graphAssignmentId: null };
    }
  } catch (err) {
    if (isAlreadyAbsent(err)) return { held: false, graphAssignmentId: null };
    throw permanentFailure(err, input, link.permissions) ?? err;
  }
  return { held: false, graphAssignmentId: null };
}

/**
 * The operation of a reference-shaped kind (group members and owners, application owners): the
 * collection it links into; the permissions named in 403 messages are the kind's `write` in the registry.
 */
export function referenceOperation(kind: EntitlementKind, collection: (input: OperationInput) => string): Operation {
  const link: ReferenceLink = { collection, permissions: ENTITLEMENT_KINDS[kind].write };
  return {
    kind,
    permissions: link.permissions,
    grant: (i) => addReference(link, i),
    revoke: (i) => removeReference(link, i),
    probe: (i) => probeReference(link, i),
  };
}
