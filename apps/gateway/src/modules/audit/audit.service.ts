import type { Kysely } from 'kysely';
import type { Database } from '@warden/database';
import { decodeCursor, isUuid, pageSize } from '../../pagination/cursor';
import { toPage, type PageResult } from '../../pagination/page';
import { toAuditEvent, type AuditEvent } from './audit-event.type';

/** Reads the audit log (written by @warden/access-model's appendAudit). */
export class AuditService {
  constructor(private readonly db: Kysely<Database>) {}

  /** Newest first, keyset on the bigserial id; optionally one connector's rows. */
  async list(
    connectorId: string | null,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<PageResult<AuditEvent>> {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, ['number']);
    const db = this.db;
    if (connectorId !== null && !isUuid(connectorId))
      return toPage(
        [],
        limit,
        () => [],
        toAuditEvent,
        async () => 0,
      );
    const base = () =>
      connectorId ? db.selectFrom('audit_events').where('connector_id', '=', connectorId) : db.selectFrom('audit_events');
    let q = base().selectAll();
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
        const r = await base()
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        return Number(r.n);
      },
    );
  }
}
