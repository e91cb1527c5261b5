import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import { decodeCursor, isUuid, pageSize } from '../../pagination/cursor';
import { knownTotal, toPage, totalColumn, type PageResult } from '../../pagination/page';
import { Statements } from '../../execution/statements';
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

/** `action` ending in '.' matches every action under it: its LIKE pattern, wildcards escaped. */
function likePrefix(action: string): string {
  return `${action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function auditRows(db: Kysely<Database>) {
  return db.selectFrom('audit_events');
}
type AuditQuery = ReturnType<typeof auditRows>;

/** Reads the audit log (written by @warden/access-model's appendAudit). */
export class AuditService {
  private readonly statements: Statements<Database>;

  constructor(private readonly db: Kysely<Database>) {
    this.statements = new Statements(db);
  }

  /**
   * null when the filter can match nothing (a connector id that is not a uuid). `template`: the values
   * are Statements stand-ins (see list), checked when bound, and `action` is already the LIKE pattern
   * when `prefix`.
   */
  private filtered(f: AuditFilter, template?: { prefix: boolean }): AuditQuery | null {
    if (!template && f.connectorId && !isUuid(f.connectorId)) return null;
    let q: AuditQuery = auditRows(this.db);
    if (f.connectorId) q = q.where('connector_id', '=', f.connectorId);
    if (f.actor) q = q.where('actor', '=', f.actor);
    if (f.action) {
      if (template ? template.prefix : f.action.endsWith('.')) q = q.where('action', 'like', template ? f.action : likePrefix(f.action));
      else q = q.where('action', '=', f.action);
    }
    if (f.since) q = q.where(sql<boolean>`at >= ${f.since}`);
    if (f.until) q = q.where(sql<boolean>`at < ${f.until}`);
    return q;
  }

  /**
   * Newest first, keyset on the bigserial id. `withCount`: the client selected totalCount, so the page
   * statement carries it (one round trip instead of the page and then the count). Built once per
   * shape, i.e. per set of filters present (see Statements); the filters' values are bound.
   */
  async list(
    filter: AuditFilter,
    first: number | null | undefined,
    after: string | null | undefined,
    withCount = false,
  ): Promise<PageResult<AuditEvent>> {
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
    const P = Statements.param;
    const prefix = Boolean(filter.action?.endsWith('.'));
    const shape = [
      'audit',
      Boolean(filter.connectorId),
      Boolean(filter.actor),
      filter.action ? (prefix ? 'prefix' : 'exact') : '',
      Boolean(filter.since),
      Boolean(filter.until),
      cursor !== null,
      withCount,
    ].join(':');
    const build = () => {
      const template = this.filtered(
        {
          connectorId: filter.connectorId ? P<string>(0) : null,
          actor: filter.actor ? P<string>(1) : null,
          action: filter.action ? P<string>(2) : null,
          since: filter.since ? P<Date>(3) : null,
          until: filter.until ? P<Date>(4) : null,
        },
        { prefix },
      )!;
      let q = template.selectAll().select(totalColumn(withCount ? template.select((eb) => eb.fn.countAll<string>().as('n')) : null));
      if (cursor) q = q.where('id', '<', P<string>(5));
      return q.orderBy('id', 'desc').limit(P<number>(6));
    };
    const values = [
      filter.connectorId,
      filter.actor,
      filter.action ? (prefix ? likePrefix(filter.action) : filter.action) : null,
      filter.since,
      filter.until,
      cursor ? String(cursor[0]) : null,
      limit + 1,
    ];
    const rows = (await this.statements.run(shape, build, values)).rows;
    return toPage(
      rows,
      limit,
      (r) => [Number(r.id)],
      toAuditEvent,
      async () => {
        const r = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        return Number(r.n);
      },
      knownTotal(rows as Array<{ total_count: string | null }>),
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
