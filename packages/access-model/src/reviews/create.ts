import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Bus } from '@warden/bus';
import {
  DECIDER_KINDS,
  RESOURCE_TYPES,
  UNDECIDED_ACTIONS,
  type AccessReviewRow,
  type Database,
  type DeciderKind,
  type ResourceType,
  type UndecidedAction,
} from '@warden/database';
import { appendAudit } from '../audit';
import {
  fallbackSubjectsSql,
  managerJoinSql,
  ruleOidsSql,
  ruleSubjectsSql,
  scopeOwnersSql,
  type BulkDeciderParams,
} from '../deciders/bulk';
import { actorOidIn, isConnectorAdmin, isUuid, ReviewError, type ReviewActor } from './errors';
import { publishReviewUpdated } from './events';

export interface CreateReviewInput {
  name: string;
  connectorId: string;
  entitlementIds?: readonly string[] | null;
  resourceTypes?: readonly ResourceType[] | null;
  reviewers: DeciderKind;
  fallbackSubjects: readonly string[];
  dueAt: Date;
  autoRevoke?: boolean | null;
  undecided?: UndecidedAction | null;
  inactiveDays?: number | null;
}

/** A peer outlier holds what fewer than this share of its peers hold ... */
export const PEER_OUTLIER_SHARE = 0.1;
/** ... among at least this many peers (users with the same manager). */
export const PEER_OUTLIER_MIN_PEERS = 5;

/**
 * Starts a campaign, atomically for the caller: the review row and one item per direct grant in scope
 * (the listed entitlements, or every grantable entitlement offered by resources of the listed types),
 * snapshotted at one moment with INSERT ... SELECT in CREATE_PARTITIONS parallel transactions: reviewers resolved set-based (deciders/bulk.ts), the
 * recommendation computed over the whole campaign (disabled account; no sign-in within inactiveDays,
 * or never; peer outlier), and for group principals how many principals hold the entitlement through
 * them. SUPER_ADMIN, or a CONNECTOR_ADMIN owning the connector.
 */
export async function createAccessReview(
  db: Kysely<Database>,
  bus: Bus,
  actor: ReviewActor,
  input: CreateReviewInput,
): Promise<{ review: AccessReviewRow; items: number }> {
  const name = input.name.trim();
  if (!name) throw new ReviewError('BAD_USER_INPUT', 'name must not be empty');
  if (!isUuid(input.connectorId)) throw new ReviewError('NOT_FOUND', `connector ${input.connectorId} does not exist`);
  if (!DECIDER_KINDS.includes(input.reviewers)) throw new ReviewError('BAD_USER_INPUT', `unknown reviewers ${String(input.reviewers)}`);
  const undecided = input.undecided ?? 'KEEP';
  if (!UNDECIDED_ACTIONS.includes(undecided)) throw new ReviewError('BAD_USER_INPUT', `unknown undecided action ${String(undecided)}`);
  const inactiveDays = input.inactiveDays ?? 30;
  if (!Number.isInteger(inactiveDays) || inactiveDays < 1 || inactiveDays > 3650)
    throw new ReviewError('BAD_USER_INPUT', 'inactiveDays must be a whole number of days between 1 and 3650');
  const fallbackSubjects = [...new Set(input.fallbackSubjects.map((s) => s.trim()).filter(Boolean))];
  if (fallbackSubjects.length === 0)
    throw new ReviewError(
      'BAD_USER_INPUT',
      'fallbackSubjects must name at least one platform user (the reviewers for USERS, the fallback otherwise)',
    );
  if (Number.isNaN(input.dueAt.getTime()) || input.dueAt.getTime() <= Date.now())
    throw new ReviewError('BAD_USER_INPUT', 'dueAt must be in the future');
  const entitlementIds = [...new Set(input.entitlementIds ?? [])];
  const resourceTypes = [...new Set(input.resourceTypes ?? [])];
  if (entitlementIds.length === 0 && resourceTypes.length === 0)
    throw new ReviewError('BAD_USER_INPUT', 'give entitlementIds or resourceTypes (one of the two is required)');
  const badType = resourceTypes.find((t) => !RESOURCE_TYPES.includes(t));
  if (badType) throw new ReviewError('BAD_USER_INPUT', `unknown resource type ${badType}`);
  const badId = entitlementIds.find((id) => !isUuid(id));
  if (badId) throw new ReviewError('BAD_USER_INPUT', `entitlement ${badId} does not exist`);

  const connector = await db
    .selectFrom('connectors')
    .select(['id', 'display_name', 'owners', 'tenant_id', 'consented_tenant_id'])
    .where('id', '=', input.connectorId)
    .executeTakeFirst();
  if (!connector) throw new ReviewError('NOT_FOUND', `connector ${input.connectorId} does not exist`);
  if (!isConnectorAdmin(actor, connector))
    throw new ReviewError(
      'FORBIDDEN',
      `starting a review needs SUPER_ADMIN, or CONNECTOR_ADMIN owning connector '${connector.display_name}'`,
    );
  if (entitlementIds.length) {
    const found = await db
      .selectFrom('entitlements')
      .select('id')
      .where('connector_id', '=', connector.id)
      .where('id', 'in', entitlementIds)
      .execute();
    const known = new Set(found.map((r) => r.id));
    const missing = entitlementIds.find((id) => !known.has(id));
    if (missing)
      throw new ReviewError('BAD_USER_INPUT', `entitlement ${missing} is not an entitlement of connector '${connector.display_name}'`);
  }

  const creatorOid = actorOidIn(actor, connector);
  const params: BulkDeciderParams = {
    kind: input.reviewers,
    fallbackSubjects,
    connectorOwners: connector.owners,
    creatorSubject: actor.subject,
    creatorOid,
  };
  const c = connector.id;

  // The campaign is written by CREATE_PARTITIONS transactions at once (each the items of its share
  // of the principals, on its own connection), all reading one snapshot exported by the creating
  // transaction, which commits the review row (and so makes the items reachable) only after every
  // partition committed. A failure deletes what the partitions wrote; a crash leaves items of a
  // review that never existed, which the row in access_review_creations lets reviewTick delete.
  const reviewId = randomUUID();
  await sql`INSERT INTO access_review_creations (review_id) VALUES (${reviewId})`.execute(db);
  let result: { review: AccessReviewRow; items: number };
  try {
    result = await db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const snapshot = (await sql<{ s: string }>`SELECT pg_export_snapshot() AS s`.execute(trx)).rows[0]!.s;
        const review = await trx
          .insertInto('access_reviews')
          .values({
            id: reviewId,
            connector_id: c,
            name,
            reviewers: input.reviewers,
            fallback_subjects: fallbackSubjects,
            due_at: input.dueAt,
            auto_revoke: input.autoRevoke ?? true,
            undecided,
            inactive_days: inactiveDays,
            scope: JSON.stringify({ entitlementIds, resourceTypes }),
            created_by: actor.subject,
            created_by_oid: creatorOid,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const parts = await Promise.allSettled(
          Array.from({ length: CREATE_PARTITIONS }, (_, k) =>
            db
              .transaction()
              .setIsolationLevel('repeatable read')
              .execute(async (w) => {
                await sql.raw(`SET TRANSACTION SNAPSHOT '${snapshotId(snapshot)}'`).execute(w);
                return writePartition(w, { reviewId, connectorId: c, input, params, entitlementIds, resourceTypes, inactiveDays }, k);
              }),
          ),
        );
        const failed = parts.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        const items = parts.reduce((n, r) => n + (r.status === 'fulfilled' ? r.value : 0), 0);
        const claimed = await sql`DELETE FROM access_review_creations WHERE review_id = ${reviewId}`.execute(trx);
        // Only a creation that outlived the sweeper's patience could lose its row (and its items).
        if (Number(claimed.numAffectedRows ?? 0) !== 1) throw new Error(`access review ${reviewId}: its items were swept during creation`);
        await appendAudit(trx, {
          actor: actor.subject,
          action: 'access_review.created',
          connectorId: c,
          details: {
            ...(actor.oid ? { actorOid: actor.oid } : {}),
            reviewId: review.id,
            name,
            items,
            reviewers: input.reviewers,
            fallbackSubjects,
            scope: { entitlementIds, resourceTypes },
            dueAt: input.dueAt.toISOString(),
            autoRevoke: review.auto_revoke,
            undecided,
            inactiveDays,
          },
        });
        return { review, items };
      });
  } catch (err) {
    await sql`DELETE FROM access_review_items WHERE review_id = ${reviewId}`.execute(db).catch(() => undefined);
    await sql`DELETE FROM access_review_creations WHERE review_id = ${reviewId}`.execute(db).catch(() => undefined);
    throw err;
  }
  // The campaign's entries of the reviewer index sit in the index's pending list (fast to append
  // for the partitions) until merged, and every reviewer's queue read scans that list meanwhile
  // (48 ms a read at M). Autovacuum would merge it within a minute, if it runs; merged here at once.
  // Only an optimisation, after the campaign committed: a role that does not own the index (the
  // function needs ownership) leaves the merge to autovacuum instead of failing the creation.
  await sql`SELECT gin_clean_pending_list('access_review_items_reviewers_idx'::regclass)`.execute(db).catch(() => undefined);
  publishReviewUpdated(bus, result.review);
  return result;
}

/** Parallel writers of one campaign; a creation holds this many pooled connections, plus its own. */
export const CREATE_PARTITIONS = 4;

/** pg_export_snapshot's answer, checked before it is spliced into SET TRANSACTION SNAPSHOT (no parameters there). */
function snapshotId(s: string): string {
  if (!/^[0-9A-F-]+$/i.test(s)) throw new Error(`unexpected snapshot id ${s}`);
  return s;
}

interface PartitionJob {
  reviewId: string;
  connectorId: string;
  input: CreateReviewInput;
  params: BulkDeciderParams;
  entitlementIds: readonly string[];
  resourceTypes: readonly ResourceType[];
  inactiveDays: number;
}

/**
 * Writes partition `k` of a campaign: the items of principals whose manager (or, without one, the
 * principal itself) hashes to `k`, so a manager's whole team, and with it the peer evidence, falls in
 * one partition. Returns how many items it wrote.
 */
async function writePartition(trx: Transaction<Database>, job: PartitionJob, k: number): Promise<number> {
  const { reviewId, connectorId: c, input, params, entitlementIds, resourceTypes, inactiveDays } = job;
  // The partition in one INSERT ... SELECT over two small temporary tables of this transaction:
  // - review_people: every principal's fields the rules read, out of its profile once (not once
  //   per item), and analyzed, so the planner knows how many users have a manager and joins the
  //   peer evidence by hashing instead of probing an index 45k times (CTEs have no statistics);
  // - review_scope: the entitlements in scope, with their owners when owners review.
  // Recommendation evidence:
  // - team: users per manager; holders: per (entitlement in scope, manager) how many of that
  //   manager's users hold it (directly or inherited). For an item, peers = team - 1 and peer
  //   holders = holders - 1 (the principal itself holds it directly).
  // - sign-in: the later of the interactive and non-interactive sign-in; "never" only when the
  //   sign-in stage wrote the keys (absent keys mean unknown, not never).
  // Each derived value is computed once per item: the subqueries `base` and `judged` are fenced
  // (OFFSET 0), as a flattened subquery would evaluate an expression once per reference.
  // Interpreted, not JIT-compiled (compiling costs seconds here), with the hashes in memory.
  await sql`SET LOCAL jit = off`.execute(trx);
  await sql`SET LOCAL work_mem = '128MB'`.execute(trx);
  await sql`
      CREATE TEMPORARY TABLE review_people ON COMMIT DROP AS
      SELECT r.id, r.external_id, r.type,
        CASE WHEN r.type = 'USER' THEN nullif(r.profile ->> 'managerId', '') END AS manager,
        abs(hashtext(coalesce(CASE WHEN r.type = 'USER' THEN nullif(r.profile ->> 'managerId', '') END, r.external_id)) % ${CREATE_PARTITIONS}::int) AS part,
        (r.type = 'USER' AND r.profile ->> 'accountEnabled' = 'false') AS disabled,
        (r.type = 'USER' AND (r.profile ? 'lastSignInDateTime' OR r.profile ? 'lastNonInteractiveSignInDateTime')) AS sign_in_known,
        CASE WHEN r.type = 'USER' THEN GREATEST(
          (r.profile ->> 'lastSignInDateTime')::timestamptz,
          (r.profile ->> 'lastNonInteractiveSignInDateTime')::timestamptz) END AS last_sign_in
      FROM resources r
      WHERE r.connector_id = ${c}`.execute(trx);
  await sql`
      CREATE TEMPORARY TABLE review_scope ON COMMIT DROP AS
      SELECT e.id, e.key, e.resource_type, e.resource_external_id, ${scopeOwnersSql(c, input.reviewers)} AS owners
      FROM entitlements e
      WHERE e.connector_id = ${c}
        AND (e.id = ANY(${entitlementIds}::uuid[]) OR (e.grantable AND e.resource_type = ANY(${resourceTypes}::text[])))`.execute(trx);
  await sql`ANALYZE review_people, review_scope`.execute(trx);
  const inserted = await sql<{ n: number }>`
      WITH scope AS NOT MATERIALIZED (SELECT * FROM review_scope),
      people AS NOT MATERIALIZED (SELECT * FROM review_people),
      team_members AS NOT MATERIALIZED (
        SELECT u.external_id, u.manager FROM people u WHERE u.type = 'USER' AND u.manager IS NOT NULL AND u.part = ${k}::int
      ),
      team AS (SELECT manager, count(*)::int AS n FROM team_members GROUP BY manager),
      -- Only the teams large enough for the peer evidence (peers >= PEER_OUTLIER_MIN_PEERS) are
      -- counted: a smaller team's figure is never worded, and skipping them halves the grouping.
      holders AS (
        SELECT x.entitlement_key, x.manager, count(*)::int AS n
        FROM (
          SELECT DISTINCT g.entitlement_key, tm.manager, g.principal_external_id
          FROM grants g
          JOIN scope sc ON sc.key = g.entitlement_key
          JOIN team_members tm ON tm.external_id = g.principal_external_id
          JOIN team t ON t.manager = tm.manager AND t.n > ${PEER_OUTLIER_MIN_PEERS}::int
          WHERE g.connector_id = ${c}
        ) x
        GROUP BY x.entitlement_key, x.manager
      ),
      -- Group principals: who holds the entitlement through them. A membership is inherited along
      -- the path whose outermost hop (via[1]) is the group's own membership; anything else a group
      -- holds (an app role, a role) reaches all of the group's members.
      group_items AS (
        SELECT DISTINCT s.key, s.resource_type, s.resource_external_id, g.principal_external_id
        FROM scope s JOIN grants g ON g.connector_id = ${c} AND g.entitlement_key = s.key AND g.direct AND g.principal_kind = 'GROUP'
        JOIN people gp ON gp.external_id = g.principal_external_id AND gp.part = ${k}::int
      ),
      inherited_via AS (
        SELECT ig.entitlement_key, ig.via[1] AS through, count(*)::int AS n
        FROM grants ig
        WHERE ig.connector_id = ${c} AND NOT ig.direct
          AND ig.entitlement_key IN (SELECT key FROM group_items WHERE resource_type = 'GROUP' AND key = 'GROUP:' || resource_external_id || ':member')
        GROUP BY 1, 2
      ),
      group_members AS (
        SELECT mg.entitlement_key, count(DISTINCT mg.principal_external_id)::int AS n
        FROM grants mg
        WHERE mg.connector_id = ${c} AND mg.entitlement_key IN (SELECT 'GROUP:' || principal_external_id || ':member' FROM group_items)
        GROUP BY 1
      ),
      base AS (
        SELECT
          s.id AS entitlement_id, s.key AS entitlement_key, p.id AS principal_id, p.external_id AS principal_external_id,
          g.principal_kind,
          ${ruleOidsSql(input.reviewers)} AS rule_oids,
          ${ruleSubjectsSql(params)} AS rule_subjects,
          ${fallbackSubjectsSql(params)} AS fallback_subjects,
          p.type = 'USER' AS is_user,
          p.disabled,
          p.sign_in_known,
          p.last_sign_in,
          date_part('day', now() - p.last_sign_in)::int AS idle_days,
          coalesce(t.n, 0) - 1 AS peers,
          coalesce(h.n, 1) - 1 AS peer_holders,
          CASE WHEN g.principal_kind = 'GROUP' THEN
            CASE WHEN s.key = 'GROUP:' || s.resource_external_id || ':member' AND s.resource_type = 'GROUP' THEN coalesce(iv.n, 0)
            ELSE coalesce(gm.n, 0) END
          END AS inherited_count
        FROM scope s
        JOIN grants g ON g.connector_id = ${c} AND g.entitlement_key = s.key AND g.direct
        JOIN people p ON p.external_id = g.principal_external_id AND p.part = ${k}::int
        ${input.reviewers === 'MANAGER' ? managerJoinSql() : sql``}
        LEFT JOIN team t ON t.manager = p.manager
        LEFT JOIN holders h ON h.entitlement_key = s.key AND h.manager = p.manager
        LEFT JOIN inherited_via iv ON g.principal_kind = 'GROUP' AND iv.entitlement_key = s.key AND iv.through = 'GROUP:' || p.external_id || ':member'
        LEFT JOIN group_members gm ON g.principal_kind = 'GROUP' AND gm.entitlement_key = 'GROUP:' || p.external_id || ':member'
        OFFSET 0
      ),
      judged AS (
        SELECT b.entitlement_id, b.entitlement_key, b.principal_id, b.principal_external_id, b.principal_kind, b.is_user,
          b.last_sign_in, b.idle_days, b.peers, b.peer_holders, b.inherited_count,
          nobody AS to_fallback,
          CASE WHEN nobody THEN '{}'::text[] ELSE b.rule_oids END AS oids,
          CASE WHEN nobody THEN b.fallback_subjects ELSE b.rule_subjects END AS subjects,
          -- concat_ws skips the NULLs: '' when there is no reason to revoke
          concat_ws('; ',
            CASE WHEN b.disabled THEN 'account disabled' END,
            CASE WHEN b.sign_in_known AND b.last_sign_in IS NULL THEN 'never signed in'
                 WHEN b.last_sign_in < (SELECT now() - make_interval(days => ${inactiveDays}::int)) THEN 'no sign-in for ' || b.idle_days || ' days' END,
            CASE WHEN b.peers >= ${PEER_OUTLIER_MIN_PEERS}::int AND b.peer_holders < ${PEER_OUTLIER_SHARE}::numeric * b.peers
                 THEN b.peer_holders || ' of ' || b.peers || ' peers with the same manager '
                 || CASE WHEN b.peer_holders = 1 THEN 'holds' ELSE 'hold' END || ' it' END
          ) AS revoke_reason
        FROM base b, LATERAL (SELECT cardinality(b.rule_oids) + cardinality(b.rule_subjects) = 0 AS nobody) n
        OFFSET 0
      ),
      ins AS (
        INSERT INTO access_review_items (
          review_id, connector_id, entitlement_id, entitlement_key, principal_id, principal_external_id, principal_kind,
          reviewer_oids, reviewer_subjects, reviewer_keys, fallback, recommendation, recommendation_reason, last_sign_in_at, inherited_count)
        SELECT ${reviewId}::uuid, ${c}::uuid, r.entitlement_id, r.entitlement_key, r.principal_id, r.principal_external_id, r.principal_kind,
          r.oids, r.subjects,
          -- one reviewer (a manager, a fallback subject) is the common case: no subquery for it
          CASE cardinality(r.oids) WHEN 0 THEN '{}'::text[] WHEN 1 THEN ARRAY['o:' || r.oids[1]] ELSE ARRAY(SELECT 'o:' || x FROM unnest(r.oids) x) END
            || CASE cardinality(r.subjects) WHEN 0 THEN '{}'::text[] WHEN 1 THEN ARRAY['s:' || r.subjects[1]] ELSE ARRAY(SELECT 's:' || x FROM unnest(r.subjects) x) END,
          r.to_fallback,
          CASE WHEN r.is_user AND r.revoke_reason <> '' THEN 'REVOKE' ELSE 'KEEP' END,
          CASE
            WHEN r.revoke_reason <> '' THEN r.revoke_reason
            WHEN r.inherited_count IS NOT NULL THEN r.inherited_count || CASE WHEN r.inherited_count = 1 THEN ' principal holds' ELSE ' principals hold' END || ' it through this group'
            WHEN NOT r.is_user THEN NULL
            ELSE nullif(concat_ws('; ',
              CASE WHEN r.last_sign_in IS NOT NULL THEN 'signed in ' || r.idle_days || CASE WHEN r.idle_days = 1 THEN ' day ago' ELSE ' days ago' END END,
              CASE WHEN r.peers >= ${PEER_OUTLIER_MIN_PEERS}::int THEN r.peer_holders || ' of ' || r.peers || ' peers with the same manager '
                || CASE WHEN r.peer_holders = 1 THEN 'holds' ELSE 'hold' END || ' it' END), '')
          END,
          r.last_sign_in, r.inherited_count
        FROM judged r
        RETURNING 1
      )
      SELECT count(*)::int AS n FROM ins`.execute(trx);
  return inserted.rows[0]?.n ?? 0;
}
