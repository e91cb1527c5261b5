import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Whether the client selected `name` directly under the field being resolved (through inline
 * fragments and fragment spreads too). A connection uses it to fold `totalCount` into its page
 * statement instead of sending a second one.
 */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode | undefined): boolean => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD && s.name.value === name) return true;
      if (s.kind === Kind.INLINE_FRAGMENT && visit(s.selectionSet)) return true;
      if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
        seen.add(s.name.value);
        if (visit(info.fragments[s.name.value]?.selectionSet)) return true;
      }
    }
    return false;
  };
  return info.fieldNodes.some((n) => visit(n.selectionSet));
}
