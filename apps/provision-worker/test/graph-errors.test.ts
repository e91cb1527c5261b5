import { describe, expect, it } from 'vitest';
import { GraphClient, GraphError } from '@warden/graph-core';
import { isAlreadyAbsent, isAlreadyExists, isTransient, permanentFailure } from '../src/operations/graph-errors';
import type { OperationInput } from '../src/operations/types';

// Graph's answers as documented (graph-api.md §5); the emulator returns the same bodies, these pin
// the classification for the ones the end-to-end tests cannot provoke (a 403 after the permission
// pre-check passed, a 404 on the resource).
const input: OperationInput = {
  graph: new GraphClient({ tenantId: 't', clientId: 'c', auth: { kind: 'secret', clientSecret: 's' } }),
  signal: new AbortController().signal,
  graphBaseUrl: 'https://graph.microsoft.com',
  resourceId: '11111111-1111-1111-1111-111111111111',
  resourceName: 'Finance',
  principalId: '22222222-2222-2222-2222-222222222222',
  principalType: 'USER',
  principalName: 'Ada',
  appRoleId: null,
  expiresAt: null,
  knownAssignmentId: null,
  directoryScopeId: '/',
  justification: 'test',
};

describe('Graph answer classification', () => {
  it('reads duplicate answers as already granted', () => {
    expect(
      isAlreadyExists(
        new GraphError(
          400,
          'Request_BadRequest',
          "One or more added object references already exist for the following modified properties: 'members'.",
          'r1',
        ),
      ),
    ).toBe(true);
    expect(isAlreadyExists(new GraphError(400, 'Request_BadRequest', 'Permission being assigned already exists on the object', 'r1'))).toBe(
      true,
    );
    expect(
      isAlreadyExists(
        new GraphError(
          400,
          'Request_BadRequest',
          'A conflicting object with one or more of the specified property values is present in the directory.',
          'r1',
        ),
      ),
    ).toBe(true);
    expect(isAlreadyExists(new GraphError(400, 'RoleAssignmentExists', 'The Role assignment already exists.', 'r1'))).toBe(true);
    expect(
      isAlreadyExists(new GraphError(400, 'Request_BadRequest', "Permission being assigned was not found on application 'x'.", 'r1')),
    ).toBe(false);
  });

  it('reads 404 and "do not exist" answers to a revoke as not held', () => {
    expect(
      isAlreadyAbsent(
        new GraphError(
          404,
          'Request_ResourceNotFound',
          "Resource 'x' does not exist or one of its queried reference-property objects are not present.",
          'r',
        ),
      ),
    ).toBe(true);
    expect(
      isAlreadyAbsent(
        new GraphError(
          400,
          'Request_BadRequest',
          "One or more removed object references do not exist for the following modified properties: 'members'.",
          'r',
        ),
      ),
    ).toBe(true);
    expect(isAlreadyAbsent(new GraphError(400, 'RoleAssignmentDoesNotExist', 'The Role assignment does not exist.', 'r'))).toBe(true);
    expect(
      isAlreadyAbsent(
        new GraphError(400, 'Request_BadRequest', 'The group must have at least one owner, hence this owner cannot be removed.', 'r'),
      ),
    ).toBe(false);
  });

  it('names the permissions that allow the write on a 403', () => {
    const f = permanentFailure(
      new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.', 'req-9'),
      input,
      ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All'],
    );
    expect(f?.message).toMatch(/needs the application permission GroupMember\.ReadWrite\.All or Group\.ReadWrite\.All/);
    expect(f?.message).toContain('req-9');
    expect(f?.requestId).toBe('req-9');
  });

  it('says which side is gone on a 404', () => {
    const principal = permanentFailure(
      new GraphError(404, 'Request_ResourceNotFound', `Resource '${input.principalId}' does not exist`, 'r'),
      input,
      [],
    );
    expect(principal?.message).toMatch(/^the principal 'Ada' \(2222.*\) no longer exists in the tenant/);
    const group = permanentFailure(
      new GraphError(404, 'Request_ResourceNotFound', `Resource '${input.resourceId}' does not exist`, 'r'),
      input,
      [],
    );
    expect(group?.message).toMatch(/^'Finance' \(1111.*\) no longer exists in the tenant/);
  });

  it("leaves throttling and server errors to redelivery, fails other 4xx with Graph's words", () => {
    expect(isTransient(new GraphError(429, 'TooManyRequests', 'Please retry again later.', 'r'))).toBe(true);
    expect(isTransient(new GraphError(503, 'serviceNotAvailable', 'Service Unavailable', 'r'))).toBe(true);
    expect(permanentFailure(new GraphError(504, 'gatewayTimeout', 'Gateway Timeout', 'r'), input, [])).toBeNull();
    expect(
      permanentFailure(
        new GraphError(400, 'Request_BadRequest', 'The group must have at least one owner, hence this owner cannot be removed.', 'r'),
        input,
        [],
      )?.message,
    ).toMatch(/400 Request_BadRequest\): The group must have at least one owner/);
  });
});
