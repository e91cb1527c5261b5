import { z } from 'zod';

export const STAGES = ['users', 'groups', 'servicePrincipals', 'appAccess', 'directoryRoles', 'signIns'] as const;
export type StageName = (typeof STAGES)[number];
export const DELTA_STREAMS = ['users', 'groups', 'servicePrincipals'] as const satisfies readonly StageName[];
export type DeltaStream = (typeof DELTA_STREAMS)[number];
/** Where each stage's `deltaLink` is kept between runs (`delta_state.stream`): the delta streams, and appAccess's directory audit cursor. */
export const SAVED_LINKS: readonly (readonly [StageName, string])[] = [
  ...DELTA_STREAMS.map((s) => [s, s] as const),
  ['appAccess', 'directoryAudits'],
];

const PendingSchema = z.object({
  resources: z.array(z.tuple([z.string(), z.string()])).default([]),
  entitlements: z.array(z.tuple([z.string(), z.string()])).default([]),
  grants: z.array(z.tuple([z.string(), z.string(), z.string()])).default([]),
});
export type PendingJson = z.infer<typeof PendingSchema>;

const StageSchema = z.object({
  state: z.enum(['running', 'done', 'skipped']),
  /** Why the stage was skipped (a missing permission), for the connector log. */
  reason: z.string().optional(),
  /** This pass enumerated everything of its kind: what it did not mark may be deleted at the end. */
  full: z.boolean().default(false),
  /** Database time the pass started: rows written after it (by provisioning) are never swept. */
  startedAt: z.string().optional(),
  /** Delta: the nextLink after the last applied page. */
  resumeFrom: z.string().nullable().optional(),
  /** The pass lists the collection (full pass of a stream without links) instead of a delta round. */
  listing: z.boolean().optional(),
  /**
   * A full pass read as many filtered delta rounds at once (groups): the `latest` deltaLink is taken
   * first, then `chunks` lists the ids each round reads, and `chunksDone` the chunks whose every page
   * is written. A resumed pass reads only the chunks not done.
   */
  partitioned: z.boolean().optional(),
  chunks: z.array(z.array(z.string())).optional(),
  chunksDone: z.array(z.number()).optional(),
  /** Delta: the new deltaLink of a finished round (or, for a listing or partitioned pass, the one taken before it), stored in delta_state when the run succeeds. */
  deltaLink: z.string().nullable().optional(),
  /** appAccess of an incremental run: the only apps to read (those the directory audit log names); absent = every app. */
  apps: z.array(z.string()).optional(),
  /** Enumerations: the last object id fully applied (objects are walked in id order). */
  cursor: z.string().nullable().optional(),
  processed: z.number().default(0),
  total: z.number().nullable().optional(),
  /** Deletions Graph reported or a complete listing implied; applied only when the run succeeds. */
  pending: PendingSchema.optional(),
  /** Principals whose direct group memberships changed in an incremental pass (closure roots). */
  roots: z.array(z.string()).optional(),
  /** Too many roots to track: recompute the whole closure. */
  rootsOverflow: z.boolean().optional(),
  /** Counters for stats and logs (skipped principals, unknown roles, …). */
  counters: z.record(z.string(), z.number()).optional(),
  /** directoryRoles: whether eligibility schedules were read (their grants may be swept). */
  eligibilityRead: z.boolean().optional(),
});
export type StageCheckpoint = z.infer<typeof StageSchema>;

export const CheckpointSchema = z.object({
  v: z.literal(1).default(1),
  stages: z.partialRecord(z.enum(STAGES), StageSchema).default({}),
});
export type RunCheckpoint = z.infer<typeof CheckpointSchema>;

/** Reads a stored checkpoint; anything unreadable (or from another version) starts the run over. */
export function parseCheckpoint(raw: unknown): RunCheckpoint {
  const parsed = CheckpointSchema.safeParse(raw ?? {});
  return parsed.success ? parsed.data : { v: 1, stages: {} };
}

/**
 * Deletions collected during a run and applied only by a run that succeeds. A later upsert of the
 * same object in the same run cancels its pending deletion (Graph may report a removal and a re-add).
 */
export class PendingDeletions {
  private readonly resources = new Map<string, string>();
  private readonly entitlements = new Map<string, string>();
  private readonly grants = new Map<string, [string, string, string]>();

  static from(json: PendingJson | undefined): PendingDeletions {
    const p = new PendingDeletions();
    for (const [id, at] of json?.resources ?? []) p.resources.set(id, at);
    for (const [key, at] of json?.entitlements ?? []) p.entitlements.set(key, at);
    for (const [key, principal, at] of json?.grants ?? []) p.grants.set(`${key}\n${principal}`, [key, principal, at]);
    return p;
  }

  resource(id: string, at: string): void {
    this.resources.set(id, at);
  }
  keepResource(id: string): void {
    this.resources.delete(id);
  }
  entitlement(key: string, at: string): void {
    this.entitlements.set(key, at);
  }
  keepEntitlement(key: string): void {
    this.entitlements.delete(key);
  }
  grant(key: string, principal: string, at: string): void {
    this.grants.set(`${key}\n${principal}`, [key, principal, at]);
  }
  keepGrant(key: string, principal: string): void {
    // Called for every membership a groups page lists (~600,000 in an L full pass, nearly always with
    // nothing pending): building the pair's key string only when something could match.
    if (this.grants.size) this.grants.delete(`${key}\n${principal}`);
  }
  get size(): number {
    return this.resources.size + this.entitlements.size + this.grants.size;
  }
  resourceIds(): string[] {
    return [...this.resources.keys()];
  }
  toJSON(): PendingJson {
    return { resources: [...this.resources], entitlements: [...this.entitlements], grants: [...this.grants.values()] };
  }
}
