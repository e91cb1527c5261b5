import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerRole } from '../src/auth/roles';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

/**
 * Every query and mutation of the contract × SUPER_ADMIN / CONNECTOR_ADMIN owner / CONNECTOR_ADMIN
 * non-owner / VIEWER / MEMBER (a token without a platform role) / no token. A refused call must leave no audit row of the action itself: an
 * unauthenticated one none at all, a FORBIDDEN one exactly one `access.denied` row (each caller
 * tries each operation once here, so the per-subject rate limit never suppresses one).
 */
type Caller = 'SUPER_ADMIN' | 'OWNER' | 'NON_OWNER' | 'VIEWER' | 'MEMBER' | 'NONE';
const CALLERS: Caller[] = ['SUPER_ADMIN', 'OWNER', 'NON_OWNER', 'VIEWER', 'MEMBER', 'NONE'];
type Outcome = 'OK' | 'FORBIDDEN' | 'UNAUTHENTICATED';

const READ: Record<Caller, Outcome> = {
  SUPER_ADMIN: 'OK',
  OWNER: 'OK',
  NON_OWNER: 'OK',
  VIEWER: 'OK',
  MEMBER: 'FORBIDDEN',
  NONE: 'UNAUTHENTICATED',
};
/** `me`: every authenticated caller, members included. */
const ME: Record<Caller, Outcome> = { ...READ, MEMBER: 'OK' };
/**
 * Deciding a request: its current approvers only, whatever their role (here the subjects `root` and
 * `owner-alice`: the member token carries `owner-alice` too, and members decide what is assigned to them).
 */
const APPROVER: Record<Caller, Outcome> = {
  SUPER_ADMIN: 'OK',
  OWNER: 'OK',
  NON_OWNER: 'FORBIDDEN',
  VIEWER: 'FORBIDDEN',
  MEMBER: 'OK',
  NONE: 'UNAUTHENTICATED',
};
const CONNECTOR_WRITE: Record<Caller, Outcome> = {
  SUPER_ADMIN: 'OK',
  OWNER: 'OK',
  NON_OWNER: 'FORBIDDEN',
  VIEWER: 'FORBIDDEN',
  MEMBER: 'FORBIDDEN',
  NONE: 'UNAUTHENTICATED',
};
const CREATE: Record<Caller, Outcome> = {
  SUPER_ADMIN: 'OK',
  OWNER: 'OK',
  NON_OWNER: 'OK',
  VIEWER: 'FORBIDDEN',
  MEMBER: 'FORBIDDEN',
  NONE: 'UNAUTHENTICATED',
};

let h: Harness;
let f: Fixture;
const tokens: Partial<Record<Caller, string | null>> = {};
let taskId: string;
let runId: string;

async function freshConnector(method: 'CLIENT_SECRET' | 'OAUTH' = 'CLIENT_SECRET'): Promise<string> {
  const r = await h.db
    .insertInto('connectors')
    .values({ display_name: `c-${Math.random()}`, auth_method: method, owners: ['owner-alice'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

/** An access review of the seeded connector with one item (user 3's membership), reviewed by 'fb-x'. */
async function freshReview(status: 'ACTIVE' | 'COMPLETED' = 'ACTIVE'): Promise<{ id: string; itemId: string }> {
  const review = await h.db
    .insertInto('access_reviews')
    .values({
      connector_id: f.connectorId,
      name: 'matrix',
      status,
      reviewers: 'USERS',
      fallback_subjects: ['fb-x'],
      due_at: new Date(Date.now() + 86_400_000),
      auto_revoke: true,
      undecided: 'KEEP',
      inactive_days: 30,
      scope: '{}',
      created_by: 'root',
      created_by_oid: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const item = await h.db
    .insertInto('access_review_items')
    .values({
      review_id: review.id,
      connector_id: f.connectorId,
      entitlement_id: f.bigGroup.memberEntitlementId,
      entitlement_key: f.bigGroup.memberKey,
      principal_id: f.users[3]!.id,
      principal_external_id: f.users[3]!.externalId,
      principal_kind: 'USER',
      reviewer_subjects: ['fb-x'],
      recommendation: null,
      recommendation_reason: null,
      inherited_count: null,
      decision: null,
      decided_by: null,
      decided_by_oid: null,
      comment: null,
      remediation_task_id: null,
      remediation_error: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: review.id, itemId: item.id };
}

interface Op {
  name: string;
  rule: Record<Caller, Outcome>;
  run(token: string | null): Promise<{ data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] }>;
}

let seeded = 0;
/** A PENDING two-step request of someone else (`requester-z`), whose current approvers are `root` and `owner-alice`. */
async function seedRequest(approvers = ['root', 'owner-alice']): Promise<string> {
  const n = seeded++;
  const r = await h.db
    .insertInto('access_requests')
    .values({
      connector_id: f.connectorId,
      entitlement_id: f.m365Group.memberEntitlementId,
      entitlement_key: `seed-${n}`,
      principal_id: f.users[60 + n]!.id,
      principal_external_id: f.users[60 + n]!.externalId,
      requested_by: 'requester-z',
      justification: 'seeded',
      steps: JSON.stringify([
        { kind: 'USERS', subjects: ['root'] },
        { kind: 'USERS', subjects: ['approver-x'] },
      ]),
      current_step: 0,
      approvers: JSON.stringify(approvers.map((a) => ({ subject: a, resourceId: null, oid: null, displayName: a }))),
      approver_subjects: approvers,
      step_started_at: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

let requested = 0;

function ops(): Op[] {
  const q =
    (query: string, vars: () => Promise<Record<string, unknown>> | Record<string, unknown> = () => ({})) =>
    async (t: string | null) =>
      h.gql(t, query, await vars());
  return [
    { name: 'Query.connectors', rule: READ, run: q('{ connectors { totalCount } }') },
    { name: 'Query.connector', rule: READ, run: q('query($id: ID!) { connector(id: $id) { id owners } }', () => ({ id: f.connectorId })) },
    {
      name: 'Query.resources',
      rule: READ,
      run: q('query($c: ID!) { resources(connectorId: $c, first: 1) { totalCount } }', () => ({ c: f.connectorId })),
    },
    { name: 'Query.resource', rule: READ, run: q('query($id: ID!) { resource(id: $id) { id } }', () => ({ id: f.users[0]!.id })) },
    {
      name: 'Query.entitlement',
      rule: READ,
      run: q('query($id: ID!) { entitlement(id: $id) { id } }', () => ({ id: f.bigGroup.memberEntitlementId })),
    },
    {
      name: 'Query.grants',
      rule: READ,
      run: q('query($c: ID!) { grants(connectorId: $c, first: 1) { totalCount } }', () => ({ c: f.connectorId })),
    },
    { name: 'Query.me', rule: ME, run: q('{ me { subject roles } }') },
    { name: 'Query.requestableEntitlements', rule: ME, run: q('{ requestableEntitlements(first: 1) { approvalSteps } }') },
    { name: 'Query.syncRun', rule: READ, run: q('query($id: ID!) { syncRun(id: $id) { id } }', () => ({ id: runId })) },
    { name: 'Query.provisioningTask', rule: READ, run: q('query($id: ID!) { provisioningTask(id: $id) { id } }', () => ({ id: taskId })) },
    { name: 'Query.auditEvents', rule: READ, run: q('{ auditEvents(first: 1) { totalCount } }') },
    { name: 'Query.accessReviews', rule: READ, run: q('{ accessReviews(first: 1) { totalCount } }') },
    // A member who reviews nothing in the review is refused (reviewers: test/reviews.test.ts).
    {
      name: 'Query.accessReview',
      rule: READ,
      run: q('query($id: ID!) { accessReview(id: $id) { id } }', async () => ({ id: (await freshReview()).id })),
    },
    // Every caller has a queue (possibly empty).
    { name: 'Query.myReviewItems', rule: ME, run: q('{ myReviewItems { totalCount } }') },
    {
      name: 'Mutation.createAccessReview',
      rule: CONNECTOR_WRITE,
      run: q(
        'mutation($c: ID!, $e: ID!, $d: DateTime!) { createAccessReview(input: { name: "m", connectorId: $c, entitlementIds: [$e], reviewers: MANAGER, fallbackSubjects: ["fb"], dueAt: $d }) { id } }',
        () => ({ c: f.connectorId, e: f.bigGroup.memberEntitlementId, d: new Date(Date.now() + 86_400_000).toISOString() }),
      ),
    },
    // Admins of the connector decide any item; the others are not this item's reviewer.
    {
      name: 'Mutation.decideReviewItems',
      rule: CONNECTOR_WRITE,
      run: q('mutation($ids: [ID!]!) { decideReviewItems(itemIds: $ids, decision: KEEP) { id } }', async () => ({
        ids: [(await freshReview()).itemId],
      })),
    },
    {
      name: 'Mutation.completeAccessReview',
      rule: CONNECTOR_WRITE,
      run: q('mutation($id: ID!) { completeAccessReview(id: $id) { id } }', async () => ({ id: (await freshReview()).id })),
    },
    {
      name: 'Mutation.cancelAccessReview',
      rule: CONNECTOR_WRITE,
      run: q('mutation($id: ID!) { cancelAccessReview(id: $id) { id } }', async () => ({ id: (await freshReview()).id })),
    },
    {
      name: 'Mutation.retryAccessReviewRemediation',
      rule: CONNECTOR_WRITE,
      run: q('mutation($id: ID!) { retryAccessReviewRemediation(id: $id) { id } }', async () => ({
        id: (await freshReview('COMPLETED')).id,
      })),
    },
    {
      name: 'Mutation.createConnector',
      rule: CREATE,
      run: q('mutation { createConnector(input: { displayName: "New", authMethod: CLIENT_SECRET }) { id owners } }'),
    },
    {
      name: 'Mutation.updateConnector',
      rule: CONNECTOR_WRITE,
      run: q('mutation($id: ID!) { updateConnector(id: $id, input: { displayName: "Renamed" }) { id } }', async () => ({
        id: await freshConnector(),
      })),
    },
    {
      name: 'Mutation.deleteConnector',
      rule: CONNECTOR_WRITE,
      run: q('mutation($id: ID!) { deleteConnector(id: $id) }', async () => ({ id: await freshConnector() })),
    },
    {
      name: 'Mutation.beginAdminConsent',
      rule: CONNECTOR_WRITE,
      run: q('mutation($id: ID!) { beginAdminConsent(connectorId: $id) { state authorizationUrl } }', async () => ({
        id: await freshConnector('OAUTH'),
      })),
    },
    {
      name: 'Mutation.triggerSync',
      rule: CONNECTOR_WRITE,
      run: q('mutation($id: ID!) { triggerSync(connectorId: $id) { id status } }', async () => ({ id: await freshConnector() })),
    },
    {
      name: 'Mutation.grant',
      rule: CONNECTOR_WRITE,
      run: q('mutation($e: ID!, $p: ID!) { grant(input: { entitlementId: $e, principalId: $p }) { id status } }', () => ({
        e: f.bigGroup.memberEntitlementId,
        p: f.users[12]!.id,
      })),
    },
    {
      name: 'Mutation.revoke',
      rule: CONNECTOR_WRITE,
      run: q('mutation($e: ID!, $p: ID!) { revoke(input: { entitlementId: $e, principalId: $p }) { id status } }', () => ({
        e: f.bigGroup.memberEntitlementId,
        p: f.users[40]!.id,
      })),
    },
    {
      name: 'Query.accessPolicies',
      rule: READ,
      run: q('query($c: ID!) { accessPolicies(connectorId: $c) { id requestable } }', () => ({ c: f.connectorId })),
    },
    {
      name: 'Mutation.setAccessPolicy',
      rule: CONNECTOR_WRITE,
      run: q('mutation($i: AccessPolicyInput!) { setAccessPolicy(input: $i) { id } }', () => ({
        i: { connectorId: f.connectorId, requestable: false, steps: [{ kind: 'CONNECTOR_OWNER', subjects: ['fallback'] }] },
      })),
    },
    // Members list only their own requests (an empty page here), so the query itself is open to them.
    { name: 'Query.accessRequests', rule: ME, run: q('{ accessRequests { totalCount edges { node { id } } } }') },
    {
      name: 'Query.accessRequest',
      rule: READ,
      run: q('query($id: ID!) { accessRequest(id: $id) { id status } }', async () => ({ id: await seedRequest(['root']) })),
    },
    {
      // For someone else: the connector's admins only (a member or viewer may request only for its own identity).
      name: 'Mutation.requestAccess',
      rule: CONNECTOR_WRITE,
      run: q('mutation($i: AccessRequestInput!) { requestAccess(input: $i) { id status } }', () => ({
        i: {
          entitlementId: f.m365Group.memberEntitlementId,
          principalId: f.users[40 + requested++]!.id,
          justification: 'matrix',
          durationSeconds: 60,
        },
      })),
    },
    {
      name: 'Mutation.approveAccessRequest',
      rule: APPROVER,
      run: q('mutation($id: ID!) { approveAccessRequest(id: $id) { id currentStep } }', async () => ({ id: await seedRequest() })),
    },
    {
      name: 'Mutation.denyAccessRequest',
      rule: APPROVER,
      run: q('mutation($id: ID!) { denyAccessRequest(id: $id) { id status } }', async () => ({ id: await seedRequest() })),
    },
    {
      name: 'Mutation.cancelAccessRequest',
      rule: CONNECTOR_WRITE,
      run: q('mutation($id: ID!) { cancelAccessRequest(id: $id) { id status } }', async () => ({ id: await seedRequest() })),
    },
  ];
}

beforeAll(async () => {
  h = await startHarness({ OAUTH_CLIENT_ID: '33333333-3333-4333-8333-333333333333', PUBLIC_URL: 'https://warden.example' });
  f = await seedTenant(h.db, { owners: ['owner-alice'] });
  const roles: Record<Exclude<Caller, 'NONE'>, [CallerRole, string]> = {
    SUPER_ADMIN: ['SUPER_ADMIN', 'root'],
    OWNER: ['CONNECTOR_ADMIN', 'owner-alice'],
    NON_OWNER: ['CONNECTOR_ADMIN', 'bob'],
    VIEWER: ['VIEWER', 'vera'],
    // Same subject as the owner: a member token gains nothing from being named in `owners`.
    MEMBER: ['MEMBER', 'owner-alice'],
  };
  for (const [k, [role, sub]] of Object.entries(roles)) tokens[k as Caller] = await h.token(role, sub);
  tokens.NONE = null;
  // The m365 group's membership is requestable (steps: one USERS step), for Mutation.requestAccess.
  await h.db
    .insertInto('access_policies')
    .values({
      connector_id: f.connectorId,
      entitlement_id: f.m365Group.memberEntitlementId,
      requestable: true,
      steps: JSON.stringify([{ kind: 'USERS', subjects: ['approver-x'] }]),
    })
    .execute();
  runId = (
    await h.db
      .insertInto('sync_runs')
      .values({ connector_id: f.connectorId, mode: 'FULL', status: 'SUCCEEDED', stats: '{}', checkpoint: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  taskId = (
    await h.db
      .insertInto('provisioning_tasks')
      .values({
        connector_id: f.connectorId,
        action: 'GRANT',
        entitlement_id: f.bigGroup.memberEntitlementId,
        entitlement_key: f.bigGroup.memberKey,
        principal_id: f.users[11]!.id,
        principal_external_id: f.users[11]!.externalId,
        requested_by: 'root',
        idempotency_key: 'seed-task',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
});
afterAll(async () => h?.close());

/** The highest audit row id so far (0 when none): rows written after it are the call's. */
const auditCount = async () =>
  Number(
    (
      await h.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)).as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('authorization matrix', () => {
  const all = ops();
  it('covers every query and mutation of the schema', async () => {
    const { buildSchema } = await import('../src/schema');
    const schema = buildSchema();
    const names = [
      ...Object.keys(schema.getQueryType()!.getFields()).map((n) => `Query.${n}`),
      ...Object.keys(schema.getMutationType()!.getFields()).map((n) => `Mutation.${n}`),
    ].sort();
    expect(all.map((o) => o.name).sort()).toEqual(names);
  });

  for (const op of all) {
    for (const caller of CALLERS) {
      it(`${op.name} as ${caller} → ${op.rule[caller]}`, async () => {
        const before = await auditCount();
        const r = await op.run(tokens[caller] ?? null);
        if (op.rule[caller] === 'OK') {
          expect(r.errors).toBeUndefined();
          expect(r.data).toBeTruthy();
        } else {
          expect(r.errors?.[0]?.extensions?.code).toBe(op.rule[caller]);
          const added = await h.db.selectFrom('audit_events').select('action').where('id', '>', String(before)).execute();
          expect(added.map((a) => a.action)).toEqual(op.rule[caller] === 'FORBIDDEN' ? ['access.denied'] : []);
        }
      });
    }
  }

  it('a CONNECTOR_ADMIN who creates a connector is always among its owners', async () => {
    const r = await h.gql<{ createConnector: { owners: string[] } }>(
      tokens.NON_OWNER!,
      'mutation { createConnector(input: { displayName: "Mine", authMethod: CLIENT_SECRET, owners: ["carol"] }) { owners } }',
    );
    expect(r.data!.createConnector.owners.sort()).toEqual(['bob', 'carol']);
  });

  it('a malformed, forged or expired token fails the request with 401 UNAUTHENTICATED', async () => {
    for (const header of ['Bearer not-a-jwt', 'Basic abc']) {
      const res = await fetch(h.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: header },
        body: JSON.stringify({ query: '{ connectors { totalCount } }' }),
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    }
    const { mintToken } = await import('../src/auth/jwt');
    const forged = await mintToken({ secret: 'x'.repeat(40), issuer: 'warden' }, { sub: 'mallory', role: 'SUPER_ADMIN' });
    expect((await h.gql(forged, '{ connectors { totalCount } }')).status).toBe(401);
    const expired = await mintToken(
      { secret: (await import('./support/harness')).JWT_SECRET, issuer: 'warden' },
      { sub: 'old', role: 'SUPER_ADMIN', ttl: '-1m' as string },
    );
    const r = await h.gql(expired, '{ connectors { totalCount } }');
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.message).toMatch(/expired/);
  });
});
