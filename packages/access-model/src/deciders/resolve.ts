import type { Kysely, Transaction } from 'kysely';
import { entitlementKey, type ApproverRecord, type Database, type DeciderKind, type ResourceType } from '@warden/database';

type Conn = Kysely<Database> | Transaction<Database>;

/** Who a decision is about and who asked: nobody decides about their own access. */
export interface DecisionSubject {
  connectorId: string;
  /** The principal that gets (or holds) the access: a USER resource for people. */
  principal: { id: string; externalId: string };
  /** The resource offering the entitlement (its type and Graph id). */
  resource: { type: ResourceType; externalId: string };
  /**
   * Who asked, when someone did (requests; reviews have none): the token subject, and the Graph
   * object id when the token's tenant is the connector's (`oid` then names a USER of this connector).
   */
  requester?: { subject: string; oid: string | null } | null;
}

export interface ResolvedDeciders {
  deciders: ApproverRecord[];
  /** True when the rule resolved to nobody usable and the fallback subjects were used. */
  usedFallback: boolean;
}

/**
 * The people who decide for one principal and entitlement under a DeciderKind (see the package
 * README, Deciders). A rule that resolves to nobody — or only to the requester or the principal —
 * goes to the fallback subjects, from which the requester and the principal are removed as well. An
 * empty answer means nobody may decide.
 */
export async function resolveDeciders(
  db: Conn,
  kind: DeciderKind,
  fallbackSubjects: string[],
  who: DecisionSubject,
): Promise<ResolvedDeciders> {
  const ruled = (await byRule(db, kind, fallbackSubjects, who)).filter((d) => !isSelf(d, who));
  if (ruled.length > 0) return { deciders: dedupe(ruled), usedFallback: false };
  return { deciders: fallbackDeciders(fallbackSubjects, who), usedFallback: true };
}

/** The fallback subjects as deciders, without the requester and the principal. */
export function fallbackDeciders(subjects: string[], who: DecisionSubject): ApproverRecord[] {
  return dedupe(subjects.map(subjectDecider).filter((d) => !isSelf(d, who)));
}

/** Whether a decider is the requester or the principal (never allowed to decide). */
export function isSelf(d: Pick<ApproverRecord, 'subject' | 'oid'>, who: DecisionSubject): boolean {
  if (d.oid && d.oid === who.principal.externalId) return true;
  if (who.requester) {
    if (d.subject && d.subject === who.requester.subject) return true;
    if (d.oid && who.requester.oid && d.oid === who.requester.oid) return true;
  }
  return false;
}

/** A caller as the decider rules see it: its token subject and, in the connector's tenant, its oid. */
export interface DecidingCaller {
  subject: string;
  /** The caller's Graph object id, only when its token's tenant is the connector's tenant. */
  oid: string | null;
}

/** Whether the caller is one of the deciders (by subject, or as the synced Entra user it signs in as). */
export function isDecider(deciders: ApproverRecord[], caller: DecidingCaller): boolean {
  return deciders.some(
    (d) => (d.subject !== null && d.subject === caller.subject) || (d.oid !== null && caller.oid !== null && d.oid === caller.oid),
  );
}

function subjectDecider(subject: string): ApproverRecord {
  return { subject, resourceId: null, oid: null, displayName: subject };
}

async function byRule(db: Conn, kind: DeciderKind, subjects: string[], who: DecisionSubject): Promise<ApproverRecord[]> {
  switch (kind) {
    case 'USERS':
      return subjects.map(subjectDecider);
    case 'CONNECTOR_OWNER': {
      const c = await db.selectFrom('connectors').select('owners').where('id', '=', who.connectorId).executeTakeFirst();
      return (c?.owners ?? []).map(subjectDecider);
    }
    case 'MANAGER': {
      const p = await db.selectFrom('resources').select('profile').where('id', '=', who.principal.id).executeTakeFirst();
      const managerId = typeof p?.profile['managerId'] === 'string' ? p.profile['managerId'] : null;
      if (!managerId) return [];
      const m = await db
        .selectFrom('resources')
        .select(['id', 'external_id', 'display_name'])
        .where('connector_id', '=', who.connectorId)
        .where('type', '=', 'USER')
        .where('external_id', '=', managerId)
        .executeTakeFirst();
      return m ? [{ subject: null, resourceId: m.id, oid: m.external_id, displayName: m.display_name || m.external_id }] : [];
    }
    case 'RESOURCE_OWNER': {
      // Owners are the `owner` entitlement's direct grants (groups and enterprise applications);
      // directory roles have no owners. Only users can sign in to decide.
      if (!ownable(who.resource.type)) return [];
      const rows = await db
        .selectFrom('grants as g')
        .innerJoin('resources as r', (j) =>
          j.onRef('r.connector_id', '=', 'g.connector_id').onRef('r.external_id', '=', 'g.principal_external_id'),
        )
        .select(['r.id', 'r.external_id', 'r.display_name'])
        .where('g.connector_id', '=', who.connectorId)
        .where('g.entitlement_key', '=', entitlementKey(who.resource.type, who.resource.externalId, 'owner'))
        .where('g.direct', '=', true)
        .where('r.type', '=', 'USER')
        .orderBy('r.display_name')
        .orderBy('r.id')
        .execute();
      return rows.map((r) => ({ subject: null, resourceId: r.id, oid: r.external_id, displayName: r.display_name || r.external_id }));
    }
  }
}

function ownable(type: ResourceType): boolean {
  return type === 'GROUP' || type === 'ENTERPRISE_APPLICATION';
}

function dedupe(list: ApproverRecord[]): ApproverRecord[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = d.subject !== null ? `s:${d.subject}` : `o:${d.oid ?? d.resourceId ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
