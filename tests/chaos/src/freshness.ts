import type { LoadContext, Pair } from './load';
import type { Rng } from './rng';

/**
 * Response-cache freshness, as a caller sees it. The bound: once a grant's task has been reported
 * SUCCEEDED to the caller (its `provisioningTask` query through a gateway said so), every later read
 * of that grant through either gateway (the cached path: the same document was read before the grant,
 * so a stale entry would exist) shows it — as long as the grant row stayed in the database from
 * before the read until after it (a revoke or an expiry in between makes "absent" a right answer:
 * counted as inconclusive, not as fresh).
 */
export interface FreshnessStats {
  /** Grants followed to SUCCEEDED and then read back. */
  checked: number;
  /** Reads (one per gateway per checked grant) that showed the grant. */
  fresh: number;
  /** Reads that did not, although the grant row was there before and after the read. */
  stale: number;
  /** Reads whose grant row changed around the read (revoked, expired): no verdict. */
  inconclusive: number;
  /** Tasks not reported final within the follow-up time (faults), or FAILED: nothing to check. */
  notChecked: number;
  examples: unknown[];
}

export function newFreshnessStats(): FreshnessStats {
  return { checked: 0, fresh: 0, stale: 0, inconclusive: 0, notChecked: 0, examples: [] };
}

const GRANT_READ =
  'query($c: ID!, $e: ID!, $p: ID!) { grants(connectorId: $c, entitlementId: $e, principalId: $p, includeInherited: false, first: 5) { totalCount } }';
const TASK_READ = 'query($id: ID!) { provisioningTask(id: $id) { id status } }';
/** Follow-ups running at once at most (each polls one task): beyond it a grant is not followed. */
const MAX_FOLLOWING = 12;

async function readHeld(ctx: LoadContext, gateway: number, pair: Pair): Promise<boolean> {
  const r = await ctx.cluster.gql<{ grants: { totalCount: number } }>(gateway, GRANT_READ, {
    c: ctx.cluster.connectorId,
    e: pair.entitlementId,
    p: pair.principalId,
  });
  return r.grants.totalCount > 0;
}

/** Before a grant: the pair's holder query through both gateways, so their caches hold the answer from before. */
export async function warmGrantRead(ctx: LoadContext, pair: Pair): Promise<void> {
  await Promise.all(ctx.cluster.gatewayUrls.map((_, i) => readHeld(ctx, i, pair).catch(() => undefined)));
}

async function grantRowId(ctx: LoadContext, pair: Pair): Promise<string | null> {
  const { rows } = await ctx.cluster.db.query<{ id: string }>(
    `SELECT g.id FROM grants g JOIN entitlements e ON e.key = g.entitlement_key AND e.connector_id = g.connector_id
     WHERE e.id = $1 AND g.principal_external_id = $2 AND g.direct`,
    [pair.entitlementId, pair.userId],
  );
  return rows[0]?.id ?? null;
}

/** After the grant call answered: follow its task through a gateway, then read the grant back (in the background). */
export function followGrant(ctx: LoadContext, taskId: string, pair: Pair, rng: Rng): void {
  const stats = ctx.freshness;
  if (ctx.following.size >= MAX_FOLLOWING) {
    stats.notChecked++;
    return;
  }
  const gateway = rng.int(0, 9);
  const p = (async () => {
    const deadline = Date.now() + 45_000;
    let status = '';
    while (Date.now() < deadline) {
      status = await ctx.cluster
        .gql<{ provisioningTask: { status: string } | null }>(gateway, TASK_READ, { id: taskId })
        .then((r) => r.provisioningTask?.status ?? '')
        .catch(() => '');
      if (status === 'SUCCEEDED' || status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    if (status !== 'SUCCEEDED') {
      stats.notChecked++;
      return;
    }
    stats.checked++;
    // Both gateways, the one that reported the outcome and the other (which only hears of it).
    for (let i = 0; i < ctx.cluster.gatewayUrls.length; i++) {
      const before = await grantRowId(ctx, pair);
      const held = await readHeld(ctx, gateway + i, pair).catch(() => null);
      const after = await grantRowId(ctx, pair);
      if (held === null || before === null || before !== after) stats.inconclusive++;
      else if (held) stats.fresh++;
      else {
        stats.stale++;
        if (stats.examples.length < 5)
          stats.examples.push({ taskId, gateway: (gateway + i) % ctx.cluster.gatewayUrls.length, grant: before });
      }
    }
  })().catch(() => {
    stats.notChecked++;
  });
  ctx.following.add(p);
  void p.finally(() => ctx.following.delete(p));
}
