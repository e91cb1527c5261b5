import { memberKey } from '../model';

/**
 * Groups a principal reaches through at least one intermediate group, each with the path it comes
 * through: breadth first from the principal's direct groups (sorted), parents sorted, so the path is
 * the shortest one and, among equals, the first by group id — the same rule the provision worker's
 * write-through uses, so both write identical rows. Cycle-safe: every group is expanded once, and
 * nobody inherits itself. The path is returned as membership entitlement keys, outermost first.
 */
export function inheritedGroups(principal: string, direct: readonly string[], parents: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const expanded = new Set<string>();
  const queue: { at: string; path: string[] }[] = [];
  for (const g of [...direct].sort()) {
    if (g === principal || expanded.has(g)) continue;
    expanded.add(g);
    queue.push({ at: g, path: [g] });
  }
  for (let i = 0; i < queue.length; i++) {
    const { at, path } = queue[i]!;
    for (const up of parents.get(at) ?? []) {
      if (up === principal) continue;
      if (!out.has(up)) out.set(up, [...path].reverse().map(memberKey));
      if (!expanded.has(up)) {
        expanded.add(up);
        queue.push({ at: up, path: [...path, up] });
      }
    }
  }
  return out;
}
