import { startGovernanceWorker } from '@warden/governance-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startSystem, type System } from './system';

// Issue 14 end to end: members and their managers as different tokens (development tokens carrying
// the Entra tid/oid a real sign-in gives), through the gateway, the provision worker (grant, JIT
// expiry), the governance worker (following tasks, deadlines), Postgres, NATS and the emulator.

let sys: System;
let connectorId = '';
let tenantId = '';

interface Gql<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function call<T>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<Gql<T>> {
  const r = await fetch(sys.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await r.json()) as Gql<T>;
}

async function ok<T>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const body = await call<T>(token, query, variables);
  if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** The error code (and message) of a call that must fail. */
async function refusal(token: string, query: string, variables: Record<string, unknown> = {}): Promise<string> {
  const body = await call(token, query, variables);
  const e = body.errors?.[0];
  if (!e) throw new Error(`expected an error, got ${JSON.stringify(body.data)}`);
  return `${e.extensions?.code}: ${e.message}`;
}

const REQUEST = `mutation($i: AccessRequestInput!) { requestAccess(input: $i) { id status currentStep durationSeconds approvers { subject displayName user { externalId } } } }`;
const APPROVE = `mutation($id: ID!, $c: String) { approveAccessRequest(id: $id, comment: $c) { id status currentStep approvers { displayName user { externalId } } } }`;
const DENY = `mutation($id: ID!, $c: String) { denyAccessRequest(id: $id, comment: $c) { id status currentStep } }`;
const CANCEL = `mutation($id: ID!) { cancelAccessRequest(id: $id) { id status } }`;
const READ = `query($id: ID!) { accessRequest(id: $id) { id status expiresAt updatedAt currentStep requestedBy
  principal { externalId } entitlement { key } decisions { step actor approved comment at }
  approvers { subject displayName user { externalId } } provisioningTask { status error expiresAt } } }`;
const POLICY = `mutation($i: AccessPolicyInput!) { setAccessPolicy(input: $i) { id requestable maxDurationSeconds requireDuration steps { kind subjects } entitlement { id } } }`;

interface RequestView {
  id: string;
  status: string;
  currentStep: number | null;
  expiresAt: string | null;
  updatedAt: string;
  requestedBy: string;
  decisions: Array<{ step: number; actor: string; approved: boolean; comment: string | null; at: string }>;
  approvers: Array<{ subject: string | null; displayName: string; user: { externalId: string } | null }>;
  provisioningTask: { status: string; error: string | null; expiresAt: string | null } | null;
}

type User = { id: string; managerId: string | null; displayName: string };
let users: User[] = [];
const resourceIds = new Map<string, string>();
const memberEntitlement = new Map<string, string>(); // group graph id -> member entitlement id
let groups: Array<{ id: string; members: string[]; owners: string[] }> = [];

/** A person of the tenant as a token: a member (no platform role) signed in as that Entra user. */
function person(u: { id: string }, role?: 'SUPER_ADMIN'): Promise<string> {
  return sys.tokenFor(role ?? 'MEMBER', `sub-${u.id}`, { tid: tenantId, oid: u.id });
}

async function waitStatus(token: string, id: string, status: string, ms = 60_000): Promise<RequestView> {
  return eventually(
    async () => {
      const r = await ok<{ accessRequest: RequestView }>(token, READ, { id });
      return r.accessRequest.status === status ? r.accessRequest : undefined;
    },
    ms,
    `request ${id} to be ${status}`,
  );
}

function membersOf(groupId: string): string[] {
  return sys.emulator.exportTenant().groups.find((g) => g.id === groupId)!.members;
}

/** A grantable group nobody below has used yet, with its member entitlement. */
const usedGroups = new Set<string>();
function freshGroup(pred: (g: { id: string; members: string[]; owners: string[] }) => boolean = () => true): {
  id: string;
  entitlementId: string;
  owners: string[];
  members: string[];
} {
  const g = groups.find((x) => !usedGroups.has(x.id) && memberEntitlement.has(x.id) && x.members.length < users.length / 2 && pred(x))!;
  usedGroups.add(g.id);
  return { id: g.id, entitlementId: memberEntitlement.get(g.id)!, owners: g.owners, members: g.members };
}

/** Users with a manager who are not members of `group` (each used once). */
const usedUsers = new Set<string>();
function freshUser(group: { members: string[]; owners: string[] }, withManager = true): User {
  const u = users.find(
    (x) =>
      !usedUsers.has(x.id) &&
      (withManager ? x.managerId !== null : x.managerId === null) &&
      !group.members.includes(x.id) &&
      !group.owners.includes(x.id) &&
      resourceIds.has(x.id),
  )!;
  usedUsers.add(u.id);
  return u;
}

async function setPolicy(
  entitlementId: string | null,
  steps: Array<{ kind: string; subjects?: string[] }>,
  more: Record<string, unknown> = {},
) {
  return ok<{ setAccessPolicy: { id: string } }>(sys.token, POLICY, {
    i: { connectorId, entitlementId, requestable: true, steps, maxDurationSeconds: 3600, ...more },
  });
}

beforeAll(async () => {
  sys = await startSystem();
  tenantId = sys.emulator.config.tenantId;
  const app = sys.emulator.app('provisioning');
  const created = await ok<{ createConnector: { id: string } }>(
    sys.token,
    `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`,
    {
      input: {
        displayName: 'Requests tenant',
        authMethod: 'CLIENT_SECRET',
        tenantId,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        graphBaseUrl: sys.emulator.config.baseUrl,
        authorityHost: sys.emulator.config.authorityHost,
      },
    },
  );
  connectorId = created.createConnector.id;
  const run = await ok<{ triggerSync: { id: string } }>(
    sys.token,
    `mutation($id: ID!) { triggerSync(connectorId: $id, mode: FULL) { id } }`,
    { id: connectorId },
  );
  await eventually(
    async () => {
      const r = await ok<{ syncRun: { status: string } }>(sys.token, `query($id: ID!) { syncRun(id: $id) { status } }`, {
        id: run.triggerSync.id,
      });
      return r.syncRun.status === 'SUCCEEDED' ? true : undefined;
    },
    90_000,
    'the full sync',
  );
  const truth = sys.emulator.exportTenant();
  users = truth.users
    .filter((u) => u['userType'] !== 'Guest' && u['accountEnabled'] !== false)
    .map((u) => ({ id: String(u.id), managerId: (u['managerId'] as string | null) ?? null, displayName: String(u['displayName']) }));
  const rows = await sys.database.db
    .selectFrom('resources')
    .select(['id', 'external_id'])
    .where('connector_id', '=', connectorId)
    .execute();
  for (const r of rows) resourceIds.set(r.external_id, r.id);
  const ents = await sys.database.db
    .selectFrom('entitlements')
    .select(['id', 'resource_external_id'])
    .where('connector_id', '=', connectorId)
    .where('resource_type', '=', 'GROUP')
    .where('slug', '=', 'member')
    .where('grantable', '=', true)
    .execute();
  for (const e of ents) memberEntitlement.set(e.resource_external_id, e.id);
  groups = truth.groups.filter((g) => g['isAssignableToRole'] !== true).map((g) => ({ id: g.id, members: g.members, owners: g.owners }));
});

afterAll(async () => {
  await sys?.stop();
});

describe('access requests end to end', () => {
  it('a member requests a group membership for 10 minutes; its manager approves; the tenant shows it, until 10 minutes after the approval', async () => {
    const g = freshGroup();
    const member = freshUser(g);
    const manager = users.find((u) => u.id === member.managerId)!;
    const memberToken = await person(member);
    const managerToken = await person(manager);

    // Not requestable until an admin says so (the connector's default policy).
    expect(
      await refusal(memberToken, REQUEST, { i: { entitlementId: g.entitlementId, justification: 'quarter close', durationSeconds: 600 } }),
    ).toMatch(/^FORBIDDEN: .* is not requestable/);
    await setPolicy(g.entitlementId, [{ kind: 'MANAGER', subjects: ['fallback-admin'] }], {
      requireDuration: true,
      maxDurationSeconds: 3600,
    });

    const created = await ok<{ requestAccess: RequestView }>(memberToken, REQUEST, {
      i: { entitlementId: g.entitlementId, justification: 'quarter close', durationSeconds: 600 },
    });
    const r = created.requestAccess;
    expect(r).toMatchObject({ status: 'PENDING', currentStep: 0 });
    expect(r.approvers).toEqual([{ subject: null, displayName: manager.displayName, user: { externalId: manager.id } }]);

    // Self-approval is refused; so is anyone who is not the current approver.
    expect(await refusal(memberToken, APPROVE, { id: r.id })).toBe('FORBIDDEN: nobody decides their own request');
    const stranger = users.find((u) => u.id !== member.id && u.id !== manager.id)!;
    expect(await refusal(await person(stranger), APPROVE, { id: r.id })).toMatch(/^FORBIDDEN: you are not an approver/);
    // A stranger member cannot read it either; the manager sees it awaiting its decision.
    expect(await refusal(await person(stranger), READ, { id: r.id })).toMatch(/^FORBIDDEN/);
    const awaiting = await ok<{ accessRequests: { edges: Array<{ node: { id: string } }> } }>(
      managerToken,
      `{ accessRequests(awaitingMyDecision: true) { edges { node { id } } } }`,
    );
    expect(awaiting.accessRequests.edges.map((e) => e.node.id)).toEqual([r.id]);

    const approvedAt = Date.now();
    const approved = await ok<{ approveAccessRequest: RequestView }>(managerToken, APPROVE, { id: r.id, c: 'ok for Q4' });
    expect(['APPROVED', 'ACTIVE']).toContain(approved.approveAccessRequest.status);
    const active = await waitStatus(memberToken, r.id, 'ACTIVE');
    expect(membersOf(g.id)).toContain(member.id);
    const expiresAt = new Date(active.expiresAt!).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(approvedAt + 600_000 - 1_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(active.provisioningTask).toMatchObject({ status: 'SUCCEEDED', error: null, expiresAt: active.expiresAt });
    expect(active.decisions).toEqual([
      expect.objectContaining({ step: 0, actor: `sub-${manager.id}`, approved: true, comment: 'ok for Q4' }),
    ]);
    const mine = await ok<{ accessRequests: { totalCount: number; edges: Array<{ node: { id: string; status: string } }> } }>(
      memberToken,
      `{ accessRequests(mine: true) { totalCount edges { node { id status } } } }`,
    );
    expect(mine.accessRequests.edges.map((e) => e.node)).toEqual([{ id: r.id, status: 'ACTIVE' }]);

    // Audit: the decision carries the manager's subject and oid.
    const audit = await sys.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'access_request.approved').execute();
    expect(audit.find((a) => a.details['requestId'] === r.id)).toMatchObject({
      actor: `sub-${manager.id}`,
      details: { actorOid: manager.id },
    });
  });

  it('time-bound access is revoked by itself at expiry and the request is EXPIRED', async () => {
    const g = freshGroup();
    const member = freshUser(g);
    const manager = users.find((u) => u.id === member.managerId)!;
    await setPolicy(g.entitlementId, [{ kind: 'MANAGER', subjects: ['fallback-admin'] }]);
    const memberToken = await person(member);
    const r = (
      await ok<{ requestAccess: RequestView }>(memberToken, REQUEST, {
        i: { entitlementId: g.entitlementId, justification: 'short', durationSeconds: 6 },
      })
    ).requestAccess;
    await ok(await person(manager), APPROVE, { id: r.id });
    await waitStatus(memberToken, r.id, 'ACTIVE', 30_000);
    expect(membersOf(g.id)).toContain(member.id);
    await waitStatus(memberToken, r.id, 'EXPIRED', 60_000);
    expect(membersOf(g.id)).not.toContain(member.id);
    const kinds = await sys.database.db
      .selectFrom('notifications')
      .select('kind')
      .where('dedupe_key', 'like', `access-request:${r.id}:%`)
      .execute();
    expect(kinds.map((k) => k.kind)).toEqual(expect.arrayContaining(['request.awaiting_decision', 'request.decided', 'access.expiring']));
  });

  it('two steps: the manager, then the group owner', async () => {
    const g = freshGroup((x) => x.owners.some((o) => users.some((u) => u.id === o && resourceIds.has(o))));
    const owner = users.find((u) => g.owners.includes(u.id))!;
    const member = users.find(
      (u) =>
        !usedUsers.has(u.id) &&
        u.managerId !== null &&
        u.managerId !== owner.id &&
        !g.members.includes(u.id) &&
        !g.owners.includes(u.id) &&
        resourceIds.has(u.id),
    )!;
    usedUsers.add(member.id);
    const manager = users.find((u) => u.id === member.managerId)!;
    await setPolicy(g.entitlementId, [{ kind: 'MANAGER' }, { kind: 'RESOURCE_OWNER', subjects: ['fallback-admin'] }]);
    const memberToken = await person(member);
    const r = (
      await ok<{ requestAccess: RequestView }>(memberToken, REQUEST, {
        i: { entitlementId: g.entitlementId, justification: 'two steps', durationSeconds: 600 },
      })
    ).requestAccess;
    const step1 = (await ok<{ approveAccessRequest: RequestView }>(await person(manager), APPROVE, { id: r.id })).approveAccessRequest;
    expect(step1).toMatchObject({ status: 'PENDING', currentStep: 1 });
    expect(step1.approvers.map((a) => a.user?.externalId)).toContain(owner.id);
    // The manager decided step 1; deciding again is too late (CONFLICT), unless they own the group too.
    if (!g.owners.includes(manager.id))
      expect(await refusal(await person(manager), APPROVE, { id: r.id })).toMatch(/^CONFLICT: .* has moved on to step 2 of 2/);
    await ok(await person(owner), APPROVE, { id: r.id });
    const done = await waitStatus(memberToken, r.id, 'ACTIVE');
    expect(done.decisions.map((d) => [d.step, d.actor])).toEqual([
      [0, `sub-${manager.id}`],
      [1, `sub-${owner.id}`],
    ]);
    expect(membersOf(g.id)).toContain(member.id);
  });

  it('denial ends a request; the requester cancels a pending one; decisions on a request that moved on are CONFLICT', async () => {
    const g = freshGroup();
    await setPolicy(g.entitlementId, [{ kind: 'MANAGER', subjects: ['fallback-admin'] }]);
    const a = freshUser(g);
    const aToken = await person(a);
    const managerToken = await person(users.find((u) => u.id === a.managerId)!);
    const r = (
      await ok<{ requestAccess: RequestView }>(aToken, REQUEST, {
        i: { entitlementId: g.entitlementId, justification: 'deny me', durationSeconds: 60 },
      })
    ).requestAccess;
    expect((await ok<{ denyAccessRequest: RequestView }>(managerToken, DENY, { id: r.id, c: 'not needed' })).denyAccessRequest.status).toBe(
      'DENIED',
    );
    expect(await refusal(managerToken, APPROVE, { id: r.id })).toMatch(/^CONFLICT: .* is DENIED/);
    expect(membersOf(g.id)).not.toContain(a.id);

    const again = (
      await ok<{ requestAccess: RequestView }>(aToken, REQUEST, {
        i: { entitlementId: g.entitlementId, justification: 'cancel me', durationSeconds: 60 },
      })
    ).requestAccess;
    const stranger = await person(users.find((u) => u.id !== a.id && u.id !== a.managerId)!);
    expect(await refusal(stranger, CANCEL, { id: again.id })).toMatch(/^FORBIDDEN/);
    expect((await ok<{ cancelAccessRequest: RequestView }>(aToken, CANCEL, { id: again.id })).cancelAccessRequest.status).toBe('CANCELLED');
    expect(await refusal(aToken, CANCEL, { id: again.id })).toMatch(/^CONFLICT/);
    expect(await refusal(managerToken, APPROVE, { id: again.id })).toMatch(/^CONFLICT/);
  });

  it('a member without a manager: the fallback subjects decide', async () => {
    const g = freshGroup();
    const loner = freshUser(g, false);
    await setPolicy(g.entitlementId, [{ kind: 'MANAGER', subjects: ['fallback-admin'] }]);
    const token = await person(loner);
    const r = (
      await ok<{ requestAccess: RequestView }>(token, REQUEST, {
        i: { entitlementId: g.entitlementId, justification: 'no manager', durationSeconds: 600 },
      })
    ).requestAccess;
    expect(r.approvers).toEqual([{ subject: 'fallback-admin', displayName: 'fallback-admin', user: null }]);
    const fallback = await sys.tokenFor('MEMBER', 'fallback-admin');
    await ok(fallback, APPROVE, { id: r.id });
    await waitStatus(token, r.id, 'ACTIVE');
    expect(membersOf(g.id)).toContain(loner.id);
  });

  it('idempotency keys and the coded errors of requestAccess', async () => {
    const g = freshGroup((x) => x.members.some((m) => users.some((u) => u.id === m) && resourceIds.has(m)));
    await setPolicy(g.entitlementId, [{ kind: 'MANAGER', subjects: ['fallback-admin'] }], {
      requireDuration: true,
      maxDurationSeconds: 600,
    });
    const u = freshUser(g);
    const token = await person(u);
    const input = { entitlementId: g.entitlementId, justification: 'keys', durationSeconds: 300, idempotencyKey: 'e2e-key-1' };
    const first = (await ok<{ requestAccess: RequestView }>(token, REQUEST, { i: input })).requestAccess;
    expect((await ok<{ requestAccess: RequestView }>(token, REQUEST, { i: input })).requestAccess.id).toBe(first.id);
    expect(await refusal(token, REQUEST, { i: { ...input, durationSeconds: 200 } })).toMatch(
      /^CONFLICT: this idempotency key was already used for a different request/,
    );
    expect(await refusal(token, REQUEST, { i: { ...input, idempotencyKey: 'e2e-key-2' } })).toMatch(
      new RegExp(`^CONFLICT: access request ${first.id} .* is already PENDING`),
    );
    expect(await refusal(token, REQUEST, { i: { ...input, idempotencyKey: null, durationSeconds: null } })).toMatch(
      /^BAD_USER_INPUT: .*needs a duration/,
    );
    expect(await refusal(token, REQUEST, { i: { ...input, idempotencyKey: null, durationSeconds: 601 } })).toMatch(
      /^BAD_USER_INPUT: durationSeconds must be at most 600/,
    );
    // Held directly already (a member of the group in Entra).
    const holder = users.find((x) => g.members.includes(x.id) && resourceIds.has(x.id));
    expect(holder).toBeDefined();
    expect(await refusal(await person(holder!), REQUEST, { i: { ...input, idempotencyKey: null } })).toMatch(
      /^CONFLICT: .* already holds .* directly \(synced from Entra, permanently\)/,
    );
    // A member requests only for itself; an admin may request for anyone of the connector.
    const other = freshUser(g);
    expect(await refusal(token, REQUEST, { i: { ...input, idempotencyKey: null, principalId: resourceIds.get(other.id) } })).toBe(
      'FORBIDDEN: you may request access only for your own identity',
    );
    const byAdmin = await ok<{ requestAccess: RequestView }>(sys.token, REQUEST, {
      i: { ...input, idempotencyKey: null, principalId: resourceIds.get(other.id) },
    });
    expect(byAdmin.requestAccess.status).toBe('PENDING');
    await ok(sys.token, CANCEL, { id: byAdmin.requestAccess.id });
    await ok(token, CANCEL, { id: first.id });
  });

  it('a step without a decision by its deadline is escalated once to the fallback, then DENIED', async () => {
    const g = freshGroup();
    await setPolicy(g.entitlementId, [{ kind: 'MANAGER', subjects: ['fallback-admin'] }]);
    const u = freshUser(g);
    const token = await person(u);
    const r = (
      await ok<{ requestAccess: RequestView }>(token, REQUEST, {
        i: { entitlementId: g.entitlementId, justification: 'slow manager', durationSeconds: 60 },
      })
    ).requestAccess;
    // A replica whose clock we move (timers only run when told): 73 h later, then 146 h later.
    let clock = new Date(Date.now() + 73 * 3_600_000);
    const timers = await startGovernanceWorker(sys.env, { manual: true, now: () => clock, consumers: [] });
    try {
      await timers.runNow(['access-requests-deadlines']);
      const escalated = await ok<{ accessRequest: RequestView }>(token, READ, { id: r.id });
      expect(escalated.accessRequest).toMatchObject({ status: 'PENDING', currentStep: 0 });
      expect(escalated.accessRequest.approvers).toEqual([{ subject: 'fallback-admin', displayName: 'fallback-admin', user: null }]);
      await timers.runNow(['access-requests-deadlines']); // once: the second deadline runs from the escalation
      expect((await ok<{ accessRequest: RequestView }>(token, READ, { id: r.id })).accessRequest.status).toBe('PENDING');
      clock = new Date(clock.getTime() + 73 * 3_600_000);
      await timers.runNow(['access-requests-deadlines']);
    } finally {
      await timers.close();
    }
    const denied = await sys.database.db
      .selectFrom('access_requests')
      .select(['status', 'status_reason'])
      .where('id', '=', r.id)
      .executeTakeFirstOrThrow();
    expect(denied.status).toBe('DENIED');
    expect(denied.status_reason).toMatch(/no decision on step 1 of 1 \(MANAGER\) within 72 h, nor within 72 h of its escalation/);
  });
});
