import type { Cluster } from './cluster';
import { GqlError } from './cluster';
import { followGrant, warmGrantRead, type FreshnessStats } from './freshness';
import type { GovernanceSetup } from './governance';
import type { Rng } from './rng';

/** One kind of work users do (access requests, approvals and reviews: `src/governance.ts`). */
export interface Actor {
  name: string;
  /** Relative share of the load. */
  weight: number;
  /** One operation. Resolves 'ok', or 'rejected' when the system answered with a coded error. */
  step(ctx: LoadContext, rng: Rng): Promise<'ok' | 'rejected'>;
}

export interface Pair {
  entitlementId: string;
  groupId: string;
  principalId: string;
  userId: string;
}

export interface LoadContext {
  cluster: Cluster;
  seed: number;
  /** Grantable (group membership, user) pairs, chosen at start. */
  pairs: Pair[];
  /** A counter for idempotency keys (deterministic per seed). */
  next(): number;
  /** Keys already used, for deliberate repeats. */
  usedKeys: Array<{ key: string; mutation: 'grant' | 'revoke'; pair: Pair; expiresAt: string | null }>;
  /** Members, approvers, reviewer and campaigns of the request and review actors. */
  gov: GovernanceSetup;
  /** Reads of granted access back through the gateways (the response cache's freshness). */
  freshness: FreshnessStats;
  /** Follow-ups of grants still running (awaited before the settle). */
  following: Set<Promise<void>>;
}

const GRANT = 'mutation($input: GrantInput!) { grant(input: $input) { id status } }';
const REVOKE = 'mutation($input: RevokeInput!) { revoke(input: $input) { id status } }';

export async function coded(p: Promise<unknown>): Promise<'ok' | 'rejected'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof GqlError) return 'rejected';
    throw err;
  }
}

export const grantActor: Actor = {
  name: 'grant',
  weight: 30,
  async step(ctx, rng) {
    const pair = rng.pick(ctx.pairs);
    // Half are just-in-time: they expire during the run, so the expiry scan revokes them under faults.
    const expiresAt = rng.chance(0.5) ? new Date(Date.now() + rng.int(3, 40) * 1000).toISOString() : null;
    const key = `chaos-${ctx.seed}-${ctx.next()}`;
    ctx.usedKeys.push({ key, mutation: 'grant', pair, expiresAt });
    const followRng = rng.fork(7);
    await warmGrantRead(ctx, pair);
    const task = ctx.cluster.gql<{ grant: { id: string } }>(rng.int(0, 9), GRANT, {
      input: {
        entitlementId: pair.entitlementId,
        principalId: pair.principalId,
        idempotencyKey: key,
        ...(expiresAt ? { expiresAt } : {}),
      },
    });
    const outcome = await coded(task);
    if (outcome === 'ok') followGrant(ctx, (await task).grant.id, pair, followRng);
    return outcome;
  },
};

export const revokeActor: Actor = {
  name: 'revoke',
  weight: 20,
  step(ctx, rng) {
    const pair = rng.pick(ctx.pairs);
    const key = `chaos-${ctx.seed}-${ctx.next()}`;
    ctx.usedKeys.push({ key, mutation: 'revoke', pair, expiresAt: null });
    return coded(
      ctx.cluster.gql(rng.int(0, 9), REVOKE, {
        input: { entitlementId: pair.entitlementId, principalId: pair.principalId, idempotencyKey: key },
      }),
    );
  },
};

/** A client retrying a call it never saw answered: the same idempotency key again, on either gateway. */
export const retryActor: Actor = {
  name: 'retry-same-key',
  weight: 8,
  step(ctx, rng) {
    if (ctx.usedKeys.length === 0) return Promise.resolve('rejected');
    const u = rng.pick(ctx.usedKeys);
    return coded(
      ctx.cluster.gql(rng.int(0, 9), u.mutation === 'grant' ? GRANT : REVOKE, {
        input: {
          entitlementId: u.pair.entitlementId,
          principalId: u.pair.principalId,
          idempotencyKey: u.key,
          ...(u.expiresAt ? { expiresAt: u.expiresAt } : {}),
        },
      }),
    );
  },
};

export const syncActor: Actor = {
  name: 'sync',
  weight: 8,
  step(ctx, rng) {
    const mode = rng.chance(0.25) ? 'FULL' : 'INCREMENTAL';
    return coded(
      ctx.cluster.gql(rng.int(0, 9), 'mutation($id: ID!, $mode: SyncMode) { triggerSync(connectorId: $id, mode: $mode) { id } }', {
        id: ctx.cluster.connectorId,
        mode,
      }),
    );
  },
};

/** Tenant churn through the emulator's control API: joiners, leavers, moves, memberships. */
export const churnActor: Actor = {
  name: 'tenant-churn',
  weight: 8,
  step(ctx, rng) {
    ctx.cluster.emulator.mutate(rng.int(1, 6), rng.int(1, 1_000_000));
    return Promise.resolve('ok');
  },
};

export const readActor: Actor = {
  name: 'read',
  weight: 12,
  step(ctx, rng) {
    return coded(
      ctx.cluster.gql(
        rng.int(0, 9),
        'query($id: ID!) { connector(id: $id) { id status lastSyncRun { id status } } grants(connectorId: $id, first: 20) { totalCount } }',
        { id: ctx.cluster.connectorId },
      ),
    );
  },
};

export const ACTORS: Actor[] = [grantActor, revokeActor, retryActor, syncActor, churnActor, readActor];

/** Picks the grantable group memberships and users the load works on (from the synced database). */
export async function choosePairs(cluster: Cluster, rng: Rng, groups = 6, users = 12): Promise<Pair[]> {
  const ents = (
    await cluster.db.query<{ id: string; resource_external_id: string }>(
      `SELECT id, resource_external_id FROM entitlements
       WHERE connector_id = $1 AND resource_type = 'GROUP' AND slug = 'member' AND grantable
         AND coalesce((metadata->>'roleAssignable')::boolean, false) = false
       ORDER BY key`,
      [cluster.connectorId],
    )
  ).rows;
  const people = (
    await cluster.db.query<{ id: string; external_id: string }>(
      `SELECT id, external_id FROM resources WHERE connector_id = $1 AND type = 'USER' ORDER BY external_id`,
      [cluster.connectorId],
    )
  ).rows;
  if (ents.length === 0 || people.length === 0) throw new Error('the first sync gave no grantable group or no user');
  const chosenGroups = Array.from({ length: groups }, () => rng.pick(ents));
  const chosenUsers = Array.from({ length: users }, () => rng.pick(people));
  const pairs: Pair[] = [];
  const seen = new Set<string>();
  for (const g of chosenGroups)
    for (const u of chosenUsers) {
      const k = `${g.id}:${u.id}`;
      if (seen.has(k)) continue;
      seen.add(k);
      pairs.push({ entitlementId: g.id, groupId: g.resource_external_id, principalId: u.id, userId: u.external_id });
    }
  return pairs;
}
