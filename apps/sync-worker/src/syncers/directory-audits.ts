import { GraphError } from '@warden/graph-core';
import type { RunSession } from '../runs/session';
import { str } from '../model';

/** Where the audit cursor is kept between runs (`delta_state.stream`; `delta_link` holds an ISO time). */
export const AUDIT_CURSOR_STREAM = 'directoryAudits';

/**
 * Graph's activities that change who holds an app (Microsoft Entra audit log activities, Core
 * Directory): "Add app role assignment grant to user", "… to group", "… to service principal", their
 * "Remove app role assignment from …", and "Add/Remove owner to/from service principal".
 */
const ACTIVITIES = [
  `startswith(activityDisplayName,'Add app role assignment')`,
  `startswith(activityDisplayName,'Remove app role assignment')`,
  `activityDisplayName eq 'Add owner to service principal'`,
  `activityDisplayName eq 'Remove owner from service principal'`,
];

/**
 * Pages read at most: Graph's reports APIs admit 5 requests per 10 s per app and tenant, so a longer
 * read would wait on throttling; that many changes are re-read faster by the bounded full read.
 */
export const MAX_AUDIT_PAGES = 4;

/** Entries per page ($top); Graph's reporting pages go to 999 like the directory's. */
const PAGE_SIZE = 999;

interface AuditEntry {
  activityDisplayName?: unknown;
  targetResources?: { id?: unknown; type?: unknown }[] | null;
}

export type AuditReadResult =
  | { ok: true; apps: Set<string>; entries: number; pages: number }
  | { ok: false; code: 'AUDIT_LOG_FORBIDDEN' | 'AUDIT_LOG_UNAVAILABLE' | 'AUDIT_LOG_TOO_MANY_CHANGES'; message: string };

export function auditPath(since: Date): string {
  const filter = `activityDateTime ge ${since.toISOString()} and (${ACTIVITIES.join(' or ')})`;
  return `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent(filter)}&$select=activityDisplayName,activityDateTime,targetResources&$top=${PAGE_SIZE}`;
}

/**
 * The service principals whose app role assignments or owners changed since `since`, from the
 * directory audit log: every service-principal target of a matching entry (the resource of an
 * assignment, the app of an ownership; an assigned service principal is included too, which only
 * costs re-reading it). A refusal (403: no AuditLog.Read.All, 400: a filter this tenant refuses) or
 * an unavailable log is an answer, not a failure: the caller re-reads everything.
 */
export async function appsChangedSince(s: RunSession, since: Date): Promise<AuditReadResult> {
  const apps = new Set<string>();
  let entries = 0;
  let pages = 0;
  try {
    for await (const page of s.graph.pages<AuditEntry & { id?: string }>(auditPath(since), { signal: s.signal })) {
      pages++;
      for (const e of page.items) {
        entries++;
        for (const t of e.targetResources ?? []) {
          const id = str(t?.id);
          if (id && str(t?.type) === 'ServicePrincipal') apps.add(id.toLowerCase());
        }
      }
      if (pages >= MAX_AUDIT_PAGES && page.resumeFrom) {
        return {
          ok: false,
          code: 'AUDIT_LOG_TOO_MANY_CHANGES',
          message: `more than ${MAX_AUDIT_PAGES * PAGE_SIZE} app access changes in the directory audit log since ${since.toISOString()}`,
        };
      }
    }
  } catch (err) {
    if (s.signal.aborted) throw err;
    if (err instanceof GraphError) {
      return {
        ok: false,
        code: err.status === 403 ? 'AUDIT_LOG_FORBIDDEN' : 'AUDIT_LOG_UNAVAILABLE',
        message: `Microsoft Graph answered ${err.status} ${err.code}: ${err.graphMessage}`,
      };
    }
    throw err;
  }
  return { ok: true, apps, entries, pages };
}
