import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Request, Response } from 'express';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '@warden/database';
import { appendCallerAudit } from '../../auth/audit-actor';
import { MEMBER, type Caller } from '../../auth/roles';
import { WardenError } from '../../errors';
import { isUuid } from '../../pagination/cursor';
import { neutralize } from '../audit/audit-export.route';
import { callerOidIn, mineSql } from './review.service';

/** Rows per keyset page: memory stays bounded by one page however large the campaign. */
export const EXPORT_PAGE_ROWS = 2_000;

export const EXPORT_COLUMNS = [
  'item_id',
  'principal',
  'principal_type',
  'principal_external_id',
  'entitlement',
  'entitlement_key',
  'reviewers',
  'recommendation',
  'recommendation_reason',
  'last_sign_in_at',
  'decision',
  'decided_by',
  'decided_at',
  'comment',
  'remediation',
  'remediation_task_id',
  'remediation_error',
  'regranted_at',
] as const;

type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | null>;

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

/**
 * GET /exports/access-reviews/{id}.csv — the evidence of a review: every item with principal,
 * entitlement, reviewers, recommendation and reason, decision, decider, time, comment and remediation
 * outcome. Authorized like `accessReview` (any platform role; a member only for a review it reviews
 * in, and then only its own items). Streamed with csv-stringify from keyset pages of
 * EXPORT_PAGE_ROWS pulled through a stream pipeline at the socket's pace, so an L campaign exports in
 * bounded memory (test/reviews-export-memory.test.ts streams one from a gateway with a capped heap).
 * Each export is audited (access_review.exported).
 */
export function reviewExportRoute(db: Kysely<Database>, requestCaller: (req: Request) => Promise<Caller | null>, logger: Logger) {
  return async (req: Request, res: Response) => {
    let caller: Caller | null;
    try {
      caller = await requestCaller(req);
    } catch (err) {
      fail(res, 401, 'UNAUTHENTICATED', err instanceof WardenError ? err.message : 'invalid token');
      return;
    }
    if (!caller) return fail(res, 401, 'UNAUTHENTICATED', 'authentication required: send Authorization: Bearer <token>');
    const file = String(req.params['file'] ?? '');
    const id = file.endsWith('.csv') ? file.slice(0, -4) : '';
    if (!isUuid(id)) return fail(res, 404, 'NOT_FOUND', `access review ${file} does not exist`);
    const review = await db
      .selectFrom('access_reviews as r')
      .innerJoin('connectors as c', 'c.id', 'r.connector_id')
      .select(['r.id', 'r.name', 'r.connector_id', 'c.tenant_id', 'c.consented_tenant_id'])
      .where('r.id', '=', id)
      .executeTakeFirst();
    if (!review) return fail(res, 404, 'NOT_FOUND', `access review ${id} does not exist`);
    const member = caller.role === MEMBER;
    const oid = callerOidIn(caller, review);
    const mine = mineSql(caller.sub, oid);
    if (member) {
      const any = await sql<{
        ok: boolean;
      }>`SELECT EXISTS (SELECT 1 FROM access_review_items i WHERE i.review_id = ${id} AND ${mine}) AS ok`.execute(db);
      if (any.rows[0]?.ok !== true) return fail(res, 403, 'FORBIDDEN', 'you are not a reviewer in this access review');
    }
    await appendCallerAudit(db, caller, {
      action: 'access_review.exported',
      connectorId: review.connector_id,
      details: { reviewId: id, name: review.name, ownItemsOnly: member },
    });

    res.status(200).set({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="access-review-${id}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    // One keyset page at a time, pulled by the pipeline only as fast as the socket drains: what the
    // gateway holds is one page and the stream buffers, however large the campaign. A client that
    // goes away destroys the pipeline, which ends the generator between pages.
    const pages = async function* (): AsyncGenerator<ExportRow> {
      let after: string | null = null;
      for (;;) {
        const page: ExportRow[] = (
          await sql<ExportRow>`
            SELECT i.id AS item_id, p.display_name AS principal, p.type AS principal_type, i.principal_external_id,
              e.display_name AS entitlement, i.entitlement_key,
              array_to_string(ARRAY(
                SELECT coalesce(u.display_name, o) || ' (' || o || ')' FROM unnest(i.reviewer_oids) o
                LEFT JOIN resources u ON u.connector_id = i.connector_id AND u.external_id = o
                UNION ALL SELECT s FROM unnest(i.reviewer_subjects) s), '; ') AS reviewers,
              i.recommendation, i.recommendation_reason, i.last_sign_in_at::text AS last_sign_in_at,
              i.decision, i.decided_by, i.decided_at::text AS decided_at, i.comment,
              CASE WHEN i.remediation_error IS NOT NULL THEN 'FAILED'
                   WHEN t.id IS NOT NULL THEN t.status
                   WHEN i.decision = 'REVOKE' AND r.auto_revoke AND r.status IN ('COMPLETING', 'COMPLETED') THEN 'PENDING' END AS remediation,
              i.remediation_task_id::text AS remediation_task_id, coalesce(i.remediation_error, t.error) AS remediation_error,
              i.regranted_at::text AS regranted_at
            FROM access_review_items i
            JOIN access_reviews r ON r.id = i.review_id
            LEFT JOIN resources p ON p.id = i.principal_id
            LEFT JOIN entitlements e ON e.id = i.entitlement_id
            LEFT JOIN provisioning_tasks t ON t.id = i.remediation_task_id
            WHERE i.review_id = ${id} ${after ? sql`AND i.id > ${after}::uuid` : sql``} ${member ? sql`AND ${mine}` : sql``}
            ORDER BY i.id
            LIMIT ${EXPORT_PAGE_ROWS}`.execute(db)
        ).rows;
        for (const row of page)
          yield { ...row, last_sign_in_at: iso(row.last_sign_in_at), decided_at: iso(row.decided_at), regranted_at: iso(row.regranted_at) };
        if (page.length < EXPORT_PAGE_ROWS) return;
        after = page[page.length - 1]!.item_id;
      }
    };
    try {
      // Comments are free text: cells a spreadsheet would run as formulas are neutralized (as the audit export does).
      await pipeline(Readable.from(pages()), stringify({ header: true, columns: [...EXPORT_COLUMNS], cast: { string: neutralize } }), res);
    } catch (err) {
      // A client that hung up is not a failure of the export.
      if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE')
        logger.error({ err: err instanceof Error ? err.message : String(err), reviewId: id }, 'access review export failed');
      // The status line is gone: cutting the body is the only way to say the file is incomplete.
      res.destroy();
    }
  };
}
