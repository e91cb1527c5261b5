import type { JsonObject } from '../types';

/**
 * Objects by id, in creation order. Stored objects are never mutated in place: an update replaces
 * the object, so arrays handed out by list() stay valid snapshots for paging and delta rounds.
 */
export class Collection<T extends JsonObject & { id: string } = JsonObject & { id: string }> {
  private readonly map = new Map<string, T>();
  private cache: readonly T[] | null = null;
  private ver = 0;

  get version(): number {
    return this.ver;
  }

  get size(): number {
    return this.map.size;
  }

  get(id: string): T | undefined {
    return this.map.get(id);
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  set(obj: T): void {
    this.map.set(obj.id, obj);
    this.cache = null;
    this.ver++;
  }

  delete(id: string): boolean {
    const had = this.map.delete(id);
    if (had) {
      this.cache = null;
      this.ver++;
    }
    return had;
  }

  /** A frozen snapshot of the current objects; the same array is returned until something changes. */
  list(): readonly T[] {
    if (!this.cache) this.cache = Object.freeze(Array.from(this.map.values()));
    return this.cache;
  }

  values(): IterableIterator<T> {
    return this.map.values();
  }

  clear(): void {
    this.map.clear();
    this.cache = null;
    this.ver++;
  }
}

/**
 * One-to-many links (group members, owners). Arrays are copy-on-write so a reader holding one keeps
 * a consistent snapshot while writes go on.
 */
export class LinkTable {
  private readonly map = new Map<string, readonly string[]>();
  private static readonly EMPTY: readonly string[] = Object.freeze([]);
  /** target -> sources; built on first use (leavers), then kept current. */
  private rev: Map<string, string[]> | null = null;

  /** Every `from` that links to `to` (e.g. the groups a user is a member of). */
  sourcesOf(to: string): string[] {
    if (!this.rev) {
      this.rev = new Map();
      for (const [from, targets] of this.map) for (const t of targets) this.revAdd(from, t);
    }
    return [...(this.rev.get(to) ?? [])];
  }

  // Arrays, not Sets: a principal is in few groups, and arrays build much faster for millions of links.
  private revAdd(from: string, to: string): void {
    if (!this.rev) return;
    const s = this.rev.get(to);
    if (s) s.push(from);
    else this.rev.set(to, [from]);
  }

  private revRemove(from: string, to: string): void {
    const s = this.rev?.get(to);
    if (!s) return;
    const i = s.indexOf(from);
    if (i >= 0) {
      s[i] = s[s.length - 1] as string;
      s.pop();
    }
    if (s.length === 0) this.rev?.delete(to);
  }

  get(from: string): readonly string[] {
    return this.map.get(from) ?? LinkTable.EMPTY;
  }

  has(from: string, to: string): boolean {
    return this.get(from).includes(to);
  }

  /** Bulk initial load; the array is adopted, not copied. */
  init(from: string, targets: string[]): void {
    if (this.rev) for (const t of this.get(from)) this.revRemove(from, t);
    this.map.set(from, Object.freeze(targets));
    if (this.rev) for (const t of targets) this.revAdd(from, t);
  }

  add(from: string, to: string): boolean {
    const cur = this.get(from);
    if (cur.includes(to)) return false;
    this.map.set(from, Object.freeze([...cur, to]));
    this.revAdd(from, to);
    return true;
  }

  remove(from: string, to: string): boolean {
    const cur = this.get(from);
    const i = cur.indexOf(to);
    if (i < 0) return false;
    const next = cur.slice();
    next.splice(i, 1);
    this.map.set(from, Object.freeze(next));
    this.revRemove(from, to);
    return true;
  }

  drop(from: string): void {
    if (this.rev) for (const t of this.get(from)) this.revRemove(from, t);
    this.map.delete(from);
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  entries(): IterableIterator<[string, readonly string[]]> {
    return this.map.entries();
  }

  get totalLinks(): number {
    let n = 0;
    for (const v of this.map.values()) n += v.length;
    return n;
  }

  clear(): void {
    this.map.clear();
    this.rev = null;
  }
}
