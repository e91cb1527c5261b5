import type { GraphClient } from '../client';
import { GraphError } from '../errors';

export interface LinkChange {
  id: string;
  /** From @odata.type: user, group, servicePrincipal, device, orgContact, … */
  type: string;
  removed: boolean;
}

export type DeltaChange<T> =
  | {
      kind: 'upsert';
      id: string;
      object: Partial<T> & { id: string };
      members?: LinkChange[];
      owners?: LinkChange[];
      /** users delta with `$select=…,manager`: `manager@delta` (the new manager, the previous one removed). */
      manager?: LinkChange[];
    }
  | { kind: 'removed'; id: string; reason: 'changed' | 'deleted' };

export interface DeltaPage<T> {
  changes: DeltaChange<T>[];
  /** nextLink after this page, for checkpoints (null on the round's last page). */
  resumeFrom: string | null;
}

export type DeltaOutcome = { kind: 'complete'; deltaLink: string } | { kind: 'resync'; reason: string };

interface RawDeltaPage {
  value?: Array<Record<string, unknown>>;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

/**
 * One delta round. The same object may repeat within a page (large groups are split) — its link
 * changes are merged; across pages consumers apply link changes additively (they are idempotent,
 * as Graph's replays require anyway). The deltaLink is returned only once the round is complete.
 * Graph's three ways of saying "start over" — 400 syncStateNotFound, resyncRequired, 410 Gone — all
 * come back as `{ kind: 'resync' }`.
 */
export async function* deltaRound<T extends { id: string }>(
  client: GraphClient,
  start: string,
  opts: { signal?: AbortSignal; headers?: Record<string, string> },
): AsyncGenerator<DeltaPage<T>, DeltaOutcome> {
  let next: string = start;
  for (;;) {
    let body: RawDeltaPage;
    try {
      body = await client.get<RawDeltaPage>(next, { ...opts, chain: true });
    } catch (err) {
      if (err instanceof GraphError && isResync(err)) return { kind: 'resync', reason: `${err.status} ${err.code}: ${err.graphMessage}` };
      throw err;
    }
    const changes = parseChanges<T>(body.value ?? []);
    const nextLink = body['@odata.nextLink'] ?? null;
    yield { changes, resumeFrom: nextLink };
    if (nextLink) {
      next = nextLink;
      continue;
    }
    const deltaLink = body['@odata.deltaLink'];
    if (!deltaLink) return { kind: 'resync', reason: 'the last page carried neither nextLink nor deltaLink' };
    return { kind: 'complete', deltaLink };
  }
}

function isResync(err: GraphError): boolean {
  return err.status === 410 || /^(syncStateNotFound|resyncRequired|SyncStateNotFound|Directory_ExpiredPageToken)$/.test(err.code);
}

export function parseChanges<T extends { id: string }>(raw: Array<Record<string, unknown>>): DeltaChange<T>[] {
  const byId = new Map<string, DeltaChange<T>>();
  for (const item of raw) {
    const id = String(item.id);
    const removed = item['@removed'] as { reason?: string } | undefined;
    if (removed) {
      byId.delete(id);
      byId.set(id, { kind: 'removed', id, reason: removed.reason === 'changed' ? 'changed' : 'deleted' });
      continue;
    }
    const object: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(item)) if (!k.includes('@')) object[k] = v;
    const members = links(item['members@delta']);
    const owners = links(item['owners@delta']);
    const manager = links(item['manager@delta']);
    const prev = byId.get(id);
    if (prev?.kind === 'upsert') {
      Object.assign(prev.object, object);
      if (members) prev.members = [...(prev.members ?? []), ...members];
      if (owners) prev.owners = [...(prev.owners ?? []), ...owners];
      if (manager) prev.manager = [...(prev.manager ?? []), ...manager];
    } else {
      const change: DeltaChange<T> = { kind: 'upsert', id, object: object as Partial<T> & { id: string } };
      if (members) change.members = members;
      if (owners) change.owners = owners;
      if (manager) change.manager = manager;
      byId.set(id, change);
    }
  }
  return [...byId.values()];
}

function links(value: unknown): LinkChange[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((l: Record<string, unknown>) => ({
    id: String(l.id),
    type: String(l['@odata.type'] ?? '#microsoft.graph.directoryObject').replace('#microsoft.graph.', ''),
    removed: l['@removed'] !== undefined,
  }));
}
