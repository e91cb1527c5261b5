import { createClient, type Client } from 'graphql-ws';
import { sql } from 'kysely';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

/**
 * Access reviews through the gateway: who may start, read, decide, complete and export, attacked
 * with tokens for different people (members carry tid/oid so they are linked to their USER resource).
 */
const TENANT = '11111111-1111-4111-8111-111111111111'; // seedTenant's tenant
let h: Harness;
let f: Fixture;
let other: Fixture;
let reviewId: string;
let otherReviewId: string;
let admin: string;
let managerToken: string;
let strangerToken: string;

const CREATE = `mutation($input: AccessReviewInput!) { createAccessReview(input: $input) { id name status reviewers fallbackSubjects autoRevoke undecided inactiveDays createdBy progress { total decided } } }`;
const ITEMS = `query($id: ID!, $mine: Boolean) { accessReview(id: $id) { id name items(first: 500, mine: $mine) { totalCount edges { node { id decision recommendation recommendationReason principal { externalId } entitlement { key } reviewers { subject displayName user { externalId } } } } } } }`;
const DECIDE = `mutation($ids: [ID!]!, $d: ReviewDecision!, $c: String) { decideReviewItems(itemIds: $ids, decision: $d, comment: $c) { id decision decidedBy comment decidedAt } }`;

type ItemNode = {
  id: string;
  decision: string | null;
  recommendation: string | null;
  principal: { externalId: string };
  reviewers: { subject: string | null; user: { externalId: string } | null }[];
};
type ReviewAnswer = { accessReview: { id: string; items: { totalCount: number; edges: { node: ItemNode }[] } } | null };

async function csv(token: string | null, id: string): Promise<{ status: number; body: string; type: string | null }> {
  const url = new URL(`/exports/access-reviews/${id}.csv`, h.gateway.url);
  const r = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db, { userCount: 20, name: 'Contoso' });
  other = await seedTenant(h.db, { userCount: 16, name: 'Other', owners: ['owner-bob'] });
  // Another tenant (the fixture's object ids repeat across seeds).
  await h.db
    .updateTable('connectors')
    .set({ tenant_id: '99999999-9999-4999-8999-999999999999' })
    .where('id', '=', other.connectorId)
    .execute();
  // users 1..8 report to user 0; user 0 has no manager.
  const boss = f.users[0]!.externalId;
  await sql`UPDATE resources SET profile = profile || jsonb_build_object('managerId', ${boss}::text)
    WHERE connector_id = ${f.connectorId} AND external_id = ANY(${f.users.slice(1, 9).map((u) => u.externalId)}::text[])`.execute(h.db);
  admin = await h.token('SUPER_ADMIN', 'root');
  managerToken = await h.token('MEMBER', 'boss-sub', { tid: TENANT, oid: boss });
  strangerToken = await h.token('MEMBER', 'stranger-sub', { tid: TENANT, oid: f.users[15]!.externalId });
});
const clients: Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await h?.close();
});

function subscribe<T>(token: string, query: string, variables: Record<string, unknown>) {
  const c = createClient({
    url: h.gateway.url.replace('http:', 'ws:'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(c);
  const items: T[] = [];
  const errors: unknown[] = [];
  c.subscribe<T>(
    { query, variables },
    {
      next: (v) => (v.errors ? errors.push(v.errors) : items.push(v.data as T)),
      error: (e) => errors.push(e),
      complete: () => undefined,
    },
  );
  return { items, errors };
}

const input = (connectorId: string, entitlementId: string, extra: Record<string, unknown> = {}) => ({
  name: 'Quarterly',
  connectorId,
  entitlementIds: [entitlementId],
  reviewers: 'MANAGER',
  fallbackSubjects: ['fallback-sub'],
  dueAt: new Date(Date.now() + 86_400_000).toISOString(),
  ...extra,
});

describe('createAccessReview', () => {
  it('is for SUPER_ADMIN and owning CONNECTOR_ADMINs only', async () => {
    const i = input(f.connectorId, f.bigGroup.memberEntitlementId);
    for (const [role, sub] of [
      ['VIEWER', 'v'],
      ['CONNECTOR_ADMIN', 'not-an-owner'],
      ['MEMBER', 'm'],
    ] as const) {
      const r = await h.gql(await h.token(role, sub), CREATE, { input: i });
      expect(r.errors?.[0]?.extensions?.code, `${role}`).toBe('FORBIDDEN');
    }
    const owner = await h.gql<{ createAccessReview: { status: string } }>(await h.token('CONNECTOR_ADMIN', 'owner-alice'), CREATE, {
      input: { ...i, name: 'by the owner' },
    });
    expect(owner.data?.createAccessReview.status).toBe('ACTIVE');
    const bad = await h.gql(admin, CREATE, { input: { ...i, entitlementIds: [other.bigGroup.memberEntitlementId] } });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const none = await h.gql(admin, CREATE, { input: { ...i, entitlementIds: null } });
    expect(none.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('snapshots the direct members of the group with MANAGER reviewers and the contract defaults', async () => {
    const r = await h.gql<{
      createAccessReview: {
        id: string;
        status: string;
        autoRevoke: boolean;
        undecided: string;
        inactiveDays: number;
        createdBy: string;
        progress: { total: number };
      };
    }>(admin, CREATE, { input: input(f.connectorId, f.bigGroup.memberEntitlementId) });
    expect(r.errors).toBeUndefined();
    const review = r.data!.createAccessReview;
    expect(review).toMatchObject({ status: 'ACTIVE', autoRevoke: true, undecided: 'KEEP', inactiveDays: 30, createdBy: 'root' });
    // 15 direct user members (users 10..14 only inherit through the nested group) + the nested group.
    expect(review.progress.total).toBe(16);
    reviewId = review.id;
    const o = await h.gql<{ createAccessReview: { id: string } }>(admin, CREATE, {
      input: input(other.connectorId, other.bigGroup.memberEntitlementId),
    });
    otherReviewId = o.data!.createAccessReview.id;
    const items = await h.gql<ReviewAnswer>(admin, ITEMS, { id: reviewId });
    const u1 = items.data!.accessReview!.items.edges.find((e) => e.node.principal.externalId === f.users[1]!.externalId)!.node;
    expect(u1.reviewers).toEqual([{ subject: null, displayName: f.users[0]!.name, user: { externalId: f.users[0]!.externalId } }]);
    const u0 = items.data!.accessReview!.items.edges.find((e) => e.node.principal.externalId === f.users[0]!.externalId)!.node;
    expect(u0.reviewers).toEqual([{ subject: 'fallback-sub', displayName: 'fallback-sub', user: null }]);
  });
});

describe('members: their own queue and nothing else', () => {
  it('a manager reads only the items it reviews; a member who reviews nothing in it is refused', async () => {
    const mine = await h.gql<ReviewAnswer>(managerToken, ITEMS, { id: reviewId });
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.accessReview!.items.totalCount).toBe(8);
    // Asking for everything changes nothing for a member.
    const all = await h.gql<ReviewAnswer>(managerToken, ITEMS, { id: reviewId, mine: false });
    expect(all.data!.accessReview!.items.totalCount).toBe(8);
    const stranger = await h.gql<ReviewAnswer>(strangerToken, ITEMS, { id: reviewId });
    expect(stranger.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The same oid from another tenant is not the manager.
    const forged = await h.gql<ReviewAnswer>(
      await h.token('MEMBER', 'x', { tid: '99999999-9999-4999-8999-999999999999', oid: f.users[0]!.externalId }),
      ITEMS,
      {
        id: reviewId,
      },
    );
    expect(forged.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a member may not walk from a review into progress, the connector, remediation or the inventory', async () => {
    for (const q of [
      `{ accessReview(id: "${reviewId}") { progress { total } } }`,
      `{ accessReview(id: "${reviewId}") { connector { id } } }`,
      `{ accessReview(id: "${reviewId}") { fallbackSubjects } }`,
      `{ accessReview(id: "${reviewId}") { items { edges { node { remediation { id } } } } } }`,
      `{ accessReview(id: "${reviewId}") { items { edges { node { principal { grants { totalCount } } } } } } }`,
      `{ myReviewItems { edges { node { entitlement { grants { totalCount } } } } } }`,
      `{ accessReviews { totalCount } }`,
    ]) {
      const r = await h.gql(managerToken, q);
      expect(r.errors?.[0]?.extensions?.code, q).toBe('FORBIDDEN');
    }
  });

  it('myReviewItems is the caller’s queue across active reviews', async () => {
    const q = `{ myReviewItems(first: 100) { totalCount edges { node { id principal { externalId } review { id name } } } } }`;
    const m = await h.gql<{ myReviewItems: { totalCount: number; edges: { node: { review: { id: string } } }[] } }>(managerToken, q);
    expect(m.errors).toBeUndefined();
    // 8 reports in each of the two Contoso reviews (the owner's and the admin's).
    expect(m.data!.myReviewItems.totalCount).toBe(16);
    const s = await h.gql<{ myReviewItems: { totalCount: number } }>(strangerToken, q);
    expect(s.data!.myReviewItems.totalCount).toBe(0);
    const fb = await h.gql<{ myReviewItems: { totalCount: number } }>(await h.token('MEMBER', 'fallback-sub'), q);
    // Without a manager: users 0, 9 and 15..19 (10..14 are no direct members) and the nested group, in
    // both Contoso reviews; every one of Other's 12 items (11 direct users and the nested group; nobody
    // there has a manager).
    expect(fb.data!.myReviewItems.totalCount).toBe(2 * 8 + 12);
  });

  it('an item whose entitlement sync deleted since still shows, told from its key, and keeps the queue readable', async () => {
    const q = `{ myReviewItems(first: 100) { totalCount edges { node { id entitlement { id key slug displayName grantable } } } } }`;
    const gone = await h.db
      .selectFrom('entitlements')
      .selectAll()
      .where('id', '=', f.bigGroup.memberEntitlementId)
      .executeTakeFirstOrThrow();
    await h.db.deleteFrom('entitlements').where('id', '=', gone.id).execute();
    try {
      type Node = {
        entitlement: { id: string; key: string; slug: string; displayName: string; grantable: boolean; resource: { externalId: string } };
      };
      const m = await h.gql<{ myReviewItems: { totalCount: number; edges: { node: Node }[] } }>(managerToken, q);
      expect(m.errors).toBeUndefined();
      expect(m.data!.myReviewItems.totalCount).toBe(16);
      const e = m.data!.myReviewItems.edges.find((x) => x.node.entitlement.id === gone.id)!.node.entitlement;
      expect(e).toEqual({
        id: gone.id,
        key: gone.key,
        slug: gone.slug,
        displayName: `${gone.slug} (no longer synced)`,
        grantable: false,
      });
    } finally {
      await h.db.insertInto('entitlements').values(gone).execute();
    }
  });
});

describe('decideReviewItems', () => {
  it('a manager keeps one and revokes one; all or nothing; nobody decides their own access', async () => {
    const items = (await h.gql<ReviewAnswer>(admin, ITEMS, { id: reviewId })).data!.accessReview!.items.edges.map((e) => e.node);
    const of = (n: number) => items.find((i) => i.principal.externalId === f.users[n]!.externalId)!.id;
    const keep = await h.gql<{ decideReviewItems: { decision: string; decidedBy: string; comment: string | null }[] }>(
      managerToken,
      DECIDE,
      {
        ids: [of(1)],
        d: 'KEEP',
        c: 'still on the team',
      },
    );
    expect(keep.data?.decideReviewItems).toEqual([
      expect.objectContaining({ decision: 'KEEP', decidedBy: 'boss-sub', comment: 'still on the team' }),
    ]);
    const revoke = await h.gql<{ decideReviewItems: { decision: string }[] }>(managerToken, DECIDE, { ids: [of(2)], d: 'REVOKE' });
    expect(revoke.data?.decideReviewItems[0]?.decision).toBe('REVOKE');

    // of(9) has no manager: not the manager's item. The batch fails as a whole.
    const mixed = await h.gql(managerToken, DECIDE, { ids: [of(3), of(9)], d: 'REVOKE' });
    expect(mixed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const after = (await h.gql<ReviewAnswer>(admin, ITEMS, { id: reviewId })).data!.accessReview!.items.edges.map((e) => e.node);
    expect(after.find((i) => i.id === of(3))!.decision).toBeNull();

    // Self-review: the admin's own identity (user 5) is refused even for a SUPER_ADMIN.
    const self = await h.gql(await h.token('SUPER_ADMIN', 'admin-5', { tid: TENANT, oid: f.users[5]!.externalId }), DECIDE, {
      ids: [of(5)],
      d: 'KEEP',
    });
    expect(self.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(self.errors?.[0]?.message).toMatch(/own access/);
    // A viewer is no reviewer; the connector owner decides anything.
    expect((await h.gql(await h.token('VIEWER', 'v'), DECIDE, { ids: [of(3)], d: 'KEEP' })).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await h.gql(await h.token('CONNECTOR_ADMIN', 'owner-alice'), DECIDE, { ids: [of(9)], d: 'KEEP' })).errors).toBeUndefined();
    const audit = await h.db
      .selectFrom('audit_events')
      .select(['actor', 'details'])
      .where('action', '=', 'access_review.decided')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => [a.actor, a.details['decision']])).toEqual([
      ['boss-sub', 'KEEP'],
      ['boss-sub', 'REVOKE'],
      ['owner-alice', 'KEEP'],
    ]);
    expect(audit[0]!.details['actorOid']).toBe(f.users[0]!.externalId);
  });
});

describe('accessReviewUpdated', () => {
  it('streams decisions to admins and to the review’s reviewers; a member who reviews nothing in it is refused', async () => {
    const q = `subscription($id: ID!) { accessReviewUpdated(id: $id) { id status } }`;
    const adminSub = subscribe<{ accessReviewUpdated: { id: string; status: string } }>(
      admin,
      `subscription($id: ID!) { accessReviewUpdated(id: $id) { id status progress { decided } } }`,
      { id: reviewId },
    );
    const managerSub = subscribe<{ accessReviewUpdated: { id: string; status: string } }>(managerToken, q, { id: reviewId });
    const strangerSub = subscribe(strangerToken, q, { id: reviewId });
    const items = (await h.gql<ReviewAnswer>(managerToken, ITEMS, { id: reviewId })).data!.accessReview!.items.edges.map((e) => e.node);
    const item = items.find((i) => i.principal.externalId === f.users[1]!.externalId)!;
    // Decisions can change while ACTIVE: decide again until both subscriptions are live and heard it.
    const deadline = Date.now() + 15_000;
    while ((adminSub.items.length === 0 || managerSub.items.length === 0) && Date.now() < deadline) {
      await h.gql(managerToken, DECIDE, { ids: [item.id], d: 'KEEP', c: 'still on the team' });
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(adminSub.items[0]).toMatchObject({ accessReviewUpdated: { id: reviewId, status: 'ACTIVE' } });
    expect(managerSub.items[0]).toEqual({ accessReviewUpdated: { id: reviewId, status: 'ACTIVE' } });
    expect(strangerSub.items).toEqual([]);
    expect(JSON.stringify(strangerSub.errors)).toContain('FORBIDDEN');
  });
});

describe('completing, cancelling and the evidence', () => {
  it('only admins of the connector complete or cancel', async () => {
    for (const token of [managerToken, await h.token('VIEWER', 'v'), await h.token('CONNECTOR_ADMIN', 'owner-alice')]) {
      const r = await h.gql(token, `mutation { cancelAccessReview(id: "${otherReviewId}") { status } }`);
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const done = await h.gql<{
      completeAccessReview: { status: string; completedAt: string; progress: { total: number; decided: number; revoked: number } };
    }>(admin, `mutation { completeAccessReview(id: "${reviewId}") { status completedAt progress { total decided kept revoked } } }`);
    expect(done.errors).toBeUndefined();
    // One REVOKE decided by the manager; the rest default to KEEP: revokes to carry out.
    expect(done.data!.completeAccessReview).toMatchObject({ status: 'COMPLETING', progress: { total: 16, decided: 16, revoked: 1 } });
    const again = await h.gql(admin, `mutation { completeAccessReview(id: "${reviewId}") { status } }`);
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const late = await h.gql(managerToken, DECIDE, {
      ids: [(await h.gql<ReviewAnswer>(managerToken, ITEMS, { id: reviewId })).data!.accessReview!.items.edges[0]!.node.id],
      d: 'KEEP',
    });
    expect(late.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const missing = await h.gql(admin, `mutation { completeAccessReview(id: "00000000-0000-4000-8000-000000000000") { status } }`);
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('the CSV lists every item for staff, only its own for a member reviewer, and nothing for anyone else', async () => {
    const all = await csv(admin, reviewId);
    expect(all.status).toBe(200);
    expect(all.type).toMatch(/text\/csv/);
    const lines = all.body.trim().split('\n');
    expect(lines[0]).toBe(
      'item_id,principal,principal_type,principal_external_id,entitlement,entitlement_key,reviewers,recommendation,recommendation_reason,last_sign_in_at,decision,decided_by,decided_at,comment,remediation,remediation_task_id,remediation_error,regranted_at',
    );
    expect(lines).toHaveLength(17);
    expect(all.body).toContain('still on the team');
    expect(all.body).toMatch(/,REVOKE,boss-sub,/);
    const mine = await csv(managerToken, reviewId);
    expect(mine.status).toBe(200);
    expect(mine.body.trim().split('\n')).toHaveLength(9);
    // A member reviewer of Contoso asking for the other connector's review; a stranger; no token; a bad id.
    expect((await csv(managerToken, otherReviewId)).status).toBe(403);
    expect((await csv(strangerToken, reviewId)).status).toBe(403);
    expect((await csv(null, reviewId)).status).toBe(401);
    expect((await csv(admin, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const exported = await h.db.selectFrom('audit_events').select('actor').where('action', '=', 'access_review.exported').execute();
    expect(exported.map((e) => e.actor).sort()).toEqual(['boss-sub', 'root']);
  });

  it('accessReviews lists newest first and filters by connector and status', async () => {
    const q = `query($c: ID, $s: AccessReviewStatus) { accessReviews(connectorId: $c, status: $s) { totalCount edges { node { id status connector { id } } } } }`;
    const r = await h.gql<{ accessReviews: { totalCount: number; edges: { node: { id: string; status: string } }[] } }>(
      await h.token('VIEWER', 'v'),
      q,
      {
        c: f.connectorId,
      },
    );
    expect(r.data!.accessReviews.totalCount).toBe(2);
    expect(r.data!.accessReviews.edges[0]!.node.id).toBe(reviewId);
    const completing = await h.gql<{ accessReviews: { totalCount: number } }>(admin, q, { s: 'COMPLETING' });
    expect(completing.data!.accessReviews.totalCount).toBe(1);
    const cancelled = await h.gql<{ cancelAccessReview: { status: string } }>(
      admin,
      `mutation { cancelAccessReview(id: "${otherReviewId}") { status } }`,
    );
    expect(cancelled.data!.cancelAccessReview.status).toBe('CANCELLED');
  });
});
