import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import { decodeCursor, isUuid, pageSize } from '../../pagination/cursor';
import { toPage, type PageResult } from '../../pagination/page';
import { toAuditEvent, type AuditEvent } from './audit-event.type';

/** What the audit log can be narrowed to; the GraphQL query and the CSV export take the same filter. */
export interface AuditFilter {
  connectorId?: string | null;
  /** Exact token subject (or 'system'). */
  actor?: string | null;
  /** Exact action, or a prefix ending in '.' (e.g. 'grant.' for every grant.* row). */
  action?: string | null;
  since?: Date | null;
  until?: Date | null;
}

function auditRows(db: Kysely<Database>) {
  return db.selectFrom('audit_events');
}
type AuditQuery = ReturnType<typeof auditRows>;

/** Reads the audit log (written by @warden/access-model's appendAudit). */
export class AuditService {
  constructor(private readonly db: Kysely<Database>) {}

  /** null when the filter can match nothing (a connector id that is not a uuid). */
  private filtered(f: AuditFilter): AuditQuery | null {
    if (f.connectorId && !isUuid(f.connectorId)) return null;
    let q: AuditQuery = auditRows(this.db);
    if (f.connectorId) q = q.where('connector_id', '=', f.connectorId);
    if (f.actor) q = q.where('actor', '=', f.actor);
    if (f.action) {
      if (f.action.endsWith('.')) {
        const escaped = f.action.replace(/[\\%_]/g, (c) => `\\${c}`);
        q = q.where('action', 'like', `${escaped}%`);
      } else q = q.where('action', '=', f.action);
    }
    if (f.since) q = q.where(sql<boolean>`at >= ${f.since}`);
    if (f.until) q = q.where(sql<boolean>`at < ${f.until}`);
    return q;
  }

  /** Newest first, keyset on the bigserial id. */
  async list(filter: AuditFilter, first: number | null | undefined, after: string | null | undefined): Promise<PageResult<AuditEvent>> {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, ['number']);
    const base = this.filtered(filter);
    if (!base)
      return toPage(
        [],
        limit,
        () => [],
        toAuditEvent,
        async () => 0,
      );
    let q = base.selectAll();
    if (cursor) q = q.where('id', '<', String(cursor[0]));
    const rows = await q
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return toPage(
      rows,
      limit,
      (r) => [Number(r.id)],
      toAuditEvent,
      async () => {
        const r = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        return Number(r.n);
      },
    );
  }

  /** Every matching row, newest first, in batches (the CSV export streams it without holding the log in memory). */
  async *stream(filter: AuditFilter, batch = 1_000): AsyncGenerator<AuditEvent> {
    const base = this.filtered(filter);
    if (!base) return;
    let before: string | null = null;
    for (;;) {
      let q = base.selectAll();
      if (before !== null) q = q.where('id', '<', before);
      const rows = await q.orderBy('id', 'desc').limit(batch).execute();
      for (const r of rows) yield toAuditEvent(r);
      if (rows.length < batch) return;
      before = String(rows[rows.length - 1]!.id);
    }
  }
}
