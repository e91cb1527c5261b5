import { GqlError, type Cluster } from './cluster';
import type { Actor, LoadContext, Pair } from './load';
import { coded } from './load';
import type { Rng } from './rng';

/** Platform users (token subjects) who decide every access request: the connector's default policy names them. */
export const APPROVERS = ['chaos-approver-1', 'chaos-approver-2'];
/** The platform user who reviews every campaign (reviewers USERS, fallback subjects). */
export const REVIEWER = 'chaos-reviewer';

export interface Member {
  sub: string;
  token: string;
  principalId: string;
  userId: string;
}

/** What the request and review actors work with, set up once after the first sync. */
export interface GovernanceSetup {
  members: Member[];
  approverTokens: string[];
  reviewerToken: string;
  /** Entitlements members request (the load's groups: requests meet grants, revokes and reviews). */
  requestEntitlements: string[];
  /** Group memberships with the fewest direct holders (nearest 4, none empty where the tenant allows): small campaigns. */
  reviewEntitlements: string[];
  reviews: Array<{ id: string; createdAt: number; open: boolean }>;
}

/** A read's answer, or 'rejected' when the system answered with a coded error (e.g. while Postgres restarts). */
async function answered<T>(p: Promise<T>): Promise<T | 'rejected'> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof GqlError) return 'rejected';
    throw err;
  }
}

const SET_POLICY = 'mutation($i: AccessPolicyInput!) { setAccessPolicy(input: $i) { id } }';

/**
 * Members (users of the load's pairs with tokens linked to their Entra identity), approvers and a
 * reviewer; the connector's default policy: requestable, one step decided by the approvers; one
 * entitlement of its own with no step (approved at once).
 */
export async function setupGovernance(cluster: Cluster, pairs: Pair[], rng: Rng, memberCount = 4): Promise<GovernanceSetup> {
  const users = [...new Map(pairs.map((p) => [p.userId, p])).values()];
  const chosen: Pair[] = [];
  while (chosen.length < Math.min(memberCount, users.length)) {
    const u = rng.pick(users);
    if (!chosen.includes(u)) chosen.push(u);
  }
  const tid = cluster.emulator.config.tenantId.toLowerCase();
  const [approverTokens, reviewerToken, members] = await Promise.all([
    Promise.all(APPROVERS.map((a) => cluster.mintToken('MEMBER', a))),
    cluster.mintToken('MEMBER', REVIEWER),
    Promise.all(
      chosen.map(async (p, i) => ({
        sub: `chaos-member-${i + 1}`,
        token: await cluster.mintToken('MEMBER', `chaos-member-${i + 1}`, { tid, oid: p.userId }),
        principalId: p.principalId,
        userId: p.userId,
      })),
    ),
  ]);
  const requestEntitlements = [...new Set(pairs.map((p) => p.entitlementId))];
  await cluster.gql(0, SET_POLICY, {
    i: { connectorId: cluster.connectorId, requestable: true, steps: [{ kind: 'USERS', subjects: APPROVERS }] },
  });
  await cluster.gql(0, SET_POLICY, {
    i: { connectorId: cluster.connectorId, entitlementId: requestEntitlements[0], requestable: true, steps: [] },
  });
  const small = (
    await cluster.db.query<{ id: string }>(
      `SELECT e.id FROM entitlements e
       WHERE e.connector_id = $1 AND e.resource_type = 'GROUP' AND e.slug = 'member' AND e.grantable
         AND coalesce((e.metadata->>'roleAssignable')::boolean, false) = false
       ORDER BY (SELECT CASE WHEN count(*) = 0 THEN 1000 ELSE abs(count(*) - 4) END
                 FROM grants g WHERE g.connector_id = e.connector_id AND g.entitlement_key = e.key AND g.direct),
                e.key
       LIMIT 8`,
      [cluster.connectorId],
    )
  ).rows.map((r) => r.id);
  const reviewEntitlements = [...new Set([...requestEntitlements.slice(0, 2), ...Array.from({ length: 4 }, () => rng.pick(small))])];
  const setup: GovernanceSetup = { members, approverTokens, reviewerToken, requestEntitlements, reviewEntitlements, reviews: [] };
  // Work waiting when the faults start, whatever the load draws on a slow machine: one request per
  // member (refused where the member already holds the group) and one campaign.
  for (const m of members) {
    await cluster
      .gql(
        0,
        REQUEST,
        { i: { entitlementId: rng.pick(requestEntitlements), justification: 'chaos setup', durationSeconds: rng.int(20, 60) } },
        m.token,
      )
      .catch((err: unknown) => {
        if (!(err instanceof GqlError)) throw err;
      });
  }
  await createCampaign(cluster, setup, rng, 'chaos review 0');
  return setup;
}

const REQUEST = 'mutation($i: AccessRequestInput!) { requestAccess(input: $i) { id status } }';

/** A member asks for one of the load's groups for itself, half of the time for 5–40 s. */
export const requestActor: Actor = {
  name: 'request',
  weight: 10,
  step(ctx, rng) {
    const m = rng.pick(ctx.gov.members);
    const durationSeconds = rng.chance(0.5) ? rng.int(5, 40) : null;
    return coded(
      ctx.cluster.gql(
        rng.int(0, 9),
        REQUEST,
        {
          i: {
            entitlementId: rng.pick(ctx.gov.requestEntitlements),
            justification: 'chaos load',
            durationSeconds,
            idempotencyKey: `chaos-request-${ctx.seed}-${ctx.next()}`,
          },
        },
        m.token,
      ),
    );
  },
};

/** An approver takes one request waiting for its decision: approves four in five, denies the rest. */
export const decideRequestActor: Actor = {
  name: 'decide-request',
  weight: 9,
  async step(ctx, rng) {
    const token = rng.pick(ctx.gov.approverTokens);
    const gw = rng.int(0, 9);
    const waiting = await answered(
      ctx.cluster.gql<{ accessRequests: { edges: Array<{ node: { id: string } }> } }>(
        gw,
        '{ accessRequests(awaitingMyDecision: true, first: 10) { edges { node { id } } } }',
        {},
        token,
      ),
    );
    if (waiting === 'rejected') return 'rejected';
    if (waiting.accessRequests.edges.length === 0) return 'ok';
    const id = rng.pick(waiting.accessRequests.edges).node.id;
    const verb = rng.chance(0.8) ? 'approveAccessRequest' : 'denyAccessRequest';
    return coded(ctx.cluster.gql(gw + 1, `mutation($id: ID!) { ${verb}(id: $id, comment: "chaos") { id status } }`, { id }, token));
  },
};

/**
 * An admin opens a small campaign over one or two entitlements, reviewed by the chaos reviewer. Its
 * due date is set against the governance workers' clock (which clock jumps move ahead), 1–4 minutes
 * away, so a jump can bring it due while the load still decides it.
 */
export const reviewCreateActor: Actor = {
  name: 'review-create',
  weight: 2,
  step(ctx, rng) {
    if (ctx.gov.reviews.filter((r) => r.open).length >= 3) return Promise.resolve('ok');
    return createCampaign(ctx.cluster, ctx.gov, rng, `chaos review ${ctx.next()}`);
  },
};

async function createCampaign(cluster: Cluster, gov: GovernanceSetup, rng: Rng, name: string): Promise<'ok' | 'rejected'> {
  const ents = [rng.pick(gov.reviewEntitlements), ...(rng.chance(0.5) ? [rng.pick(gov.reviewEntitlements)] : [])];
  const r = await answered(
    cluster.gql<{ createAccessReview: { id: string } }>(
      rng.int(0, 9),
      'mutation($i: AccessReviewInput!) { createAccessReview(input: $i) { id } }',
      {
        i: {
          name,
          connectorId: cluster.connectorId,
          entitlementIds: [...new Set(ents)],
          reviewers: 'USERS',
          fallbackSubjects: [REVIEWER],
          dueAt: new Date(Date.now() + cluster.clockOffsetMs + rng.int(60, 240) * 1000).toISOString(),
          autoRevoke: rng.chance(0.85),
          undecided: rng.pick(['KEEP', 'REVOKE', 'RECOMMENDATION']),
        },
      },
    ),
  );
  if (r === 'rejected') return 'rejected';
  gov.reviews.push({ id: r.createAccessReview.id, createdAt: Date.now(), open: true });
  return 'ok';
}

/** The reviewer decides a few of its pending items (half REVOKE) through decideReviewItems. */
export const reviewDecideActor: Actor = {
  name: 'review-decide',
  weight: 6,
  async step(ctx, rng) {
    const gw = rng.int(0, 9);
    const mine = await answered(
      ctx.cluster.gql<{ myReviewItems: { edges: Array<{ node: { id: string } }> } }>(
        gw,
        '{ myReviewItems(first: 30, pending: true) { edges { node { id } } } }',
        {},
        ctx.gov.reviewerToken,
      ),
    );
    if (mine === 'rejected') return 'rejected';
    const ids = mine.myReviewItems.edges.map((e) => e.node.id).filter(() => rng.chance(0.4));
    if (ids.length === 0) return 'ok';
    return coded(
      ctx.cluster.gql(
        gw + 1,
        'mutation($ids: [ID!]!, $d: ReviewDecision!) { decideReviewItems(itemIds: $ids, decision: $d, comment: "chaos") { id } }',
        { ids, d: rng.chance(0.5) ? 'REVOKE' : 'KEEP' },
        ctx.gov.reviewerToken,
      ),
    );
  },
};

/** An admin completes a campaign open for at least 10 s; its REVOKE decisions are remediated under the faults. */
export const reviewCompleteActor: Actor = {
  name: 'review-complete',
  weight: 2,
  step(ctx, rng) {
    const ready = ctx.gov.reviews.filter((r) => r.open && Date.now() - r.createdAt > 10_000);
    if (ready.length === 0) return Promise.resolve('ok');
    const r = rng.pick(ready);
    r.open = false;
    return coded(ctx.cluster.gql(rng.int(0, 9), 'mutation($id: ID!) { completeAccessReview(id: $id) { id status } }', { id: r.id }));
  },
};

export const GOVERNANCE_ACTORS: Actor[] = [requestActor, decideRequestActor, reviewCreateActor, reviewDecideActor, reviewCompleteActor];

export type { LoadContext };
