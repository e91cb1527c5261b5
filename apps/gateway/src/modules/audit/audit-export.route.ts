import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { STAFF } from '../../auth/authorize';
import type { Caller } from '../../auth/roles';
import { WardenError } from '../../errors';
import type { AuditFilter, AuditService } from './audit.service';

const one = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function refuse(res: Response, status: number, code: string, message: string): void {
  res
    .status(status)
    .set('cache-control', 'no-store')
    .json({ errors: [{ message, extensions: { code } }] });
}

/** The query string as the filter of `auditEvents` (same names); a malformed time is a BAD_USER_INPUT. */
export function auditFilterOf(query: Request['query']): AuditFilter | string {
  const time = (name: 'since' | 'until'): Date | null | string => {
    const v = one(query[name]);
    if (v === undefined) return null;
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? `${name} must be an ISO 8601 date-time` : d;
  };
  const since = time('since');
  const until = time('until');
  if (typeof since === 'string') return since;
  if (typeof until === 'string') return until;
  return {
    connectorId: one(query['connectorId']) ?? null,
    actor: one(query['actor']) ?? null,
    action: one(query['action']) ?? null,
    since,
    until,
  };
}

/**
 * `GET /audit/export.csv?connectorId=&actor=&action=&since=&until=`: the rows `auditEvents` returns
 * for the same filter, all of them, newest first, streamed as CSV. Authorized like `auditEvents`
 * (a platform role; members and anonymous callers are refused). It only reads, but a browser's
 * cross-site request is refused all the same (Sec-Fetch-Site), so no other site can start a download
 * of the log with the session cookie.
 */
export function auditExportRoute(audit: AuditService, callerOf: (req: Request) => Promise<Caller | null>, logger: Logger) {
  return async (req: Request, res: Response): Promise<void> => {
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      refuse(res, 403, 'FORBIDDEN', 'the audit export cannot be requested from another site');
      return;
    }
    let caller: Caller | null;
    try {
      caller = await callerOf(req);
    } catch (err) {
      refuse(res, 401, 'UNAUTHENTICATED', err instanceof WardenError ? err.message : 'authentication failed');
      return;
    }
    if (!caller) {
      refuse(res, 401, 'UNAUTHENTICATED', 'authentication required');
      return;
    }
    if (!STAFF.roles.includes(caller.role)) {
      refuse(res, 403, 'FORBIDDEN', STAFF.refusal(caller));
      return;
    }
    const filter = auditFilterOf(req.query);
    if (typeof filter === 'string') {
      refuse(res, 400, 'BAD_USER_INPUT', filter);
      return;
    }
    res.status(200).set({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="warden-audit-${new Date().toISOString().slice(0, 10)}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    const rows = Readable.from(
      (async function* () {
        for await (const e of audit.stream(filter)) {
          yield {
            id: e.id,
            at: e.at.toISOString(),
            actor: e.actor,
            action: e.action,
            connectorId: e.connectorId ?? '',
            details: JSON.stringify(e.details),
          };
        }
      })(),
    );
    try {
      // Values starting with = + - @ are prefixed so a spreadsheet does not run them as formulas.
      await pipeline(
        rows,
        stringify({ header: true, columns: ['id', 'at', 'actor', 'action', 'connectorId', 'details'], cast: { string: neutralize } }),
        res,
      );
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'audit export failed');
      res.destroy();
    }
  };
}

/** A cell a spreadsheet would run as a formula gets a leading quote (every CSV export of the gateway). */
export function neutralize(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
