import {
  getArgumentValues,
  getNamedType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

/** The fields named `name` directly under `sets` (through inline fragments and fragment spreads too). */
function fieldsNamed(
  sets: ReadonlyArray<SelectionSetNode | undefined>,
  fragments: Record<string, FragmentDefinitionNode>,
  name: string,
): FieldNode[] {
  const seen = new Set<string>();
  const found: FieldNode[] = [];
  const visit = (set: SelectionSetNode | undefined): void => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD && s.name.value === name) found.push(s);
      else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet);
      else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
        seen.add(s.name.value);
        visit(fragments[s.name.value]?.selectionSet);
      }
    }
  };
  for (const set of sets) visit(set);
  return found;
}

/**
 * Whether the client selected `name` directly under the field being resolved (through inline
 * fragments and fragment spreads too). A connection uses it to fold `totalCount` into its page
 * statement instead of sending a second one.
 */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  return (
    fieldsNamed(
      info.fieldNodes.map((n) => n.selectionSet),
      info.fragments,
      name,
    ).length > 0
  );
}

/**
 * Whether the client selected `edges { node { name } }` under the connection being resolved, so its
 * page statement can join that relation for every row instead of a loader fetching it afterwards.
 */
export function selectsNodeField(info: GraphQLResolveInfo, name: string): boolean {
  const sets = (nodes: FieldNode[]) => nodes.map((n) => n.selectionSet);
  const edges = fieldsNamed(sets([...info.fieldNodes]), info.fragments, 'edges');
  const nodes = fieldsNamed(sets(edges), info.fragments, 'node');
  return fieldsNamed(sets(nodes), info.fragments, name).length > 0;
}

/** A child field as the parent's resolver can see it before the child runs. */
export interface ChildField {
  /** Its arguments, coerced as the child's resolver will receive them (defaults applied). */
  args: Record<string, unknown>;
  /** Whether `name` is selected under it (e.g. a connection's totalCount). */
  selects: (name: string) => boolean;
}

/**
 * The one field `name` selected under the field being resolved, so that the parent can fetch what the
 * child will need in its own statement. Null when it is not selected, or selected more than once
 * (aliases, directives): the child then fetches for itself, as it always can.
 */
export function childField(info: GraphQLResolveInfo, name: string): ChildField | null {
  const nodes = fieldsNamed(
    info.fieldNodes.map((n) => n.selectionSet),
    info.fragments,
    name,
  );
  const node = nodes.length === 1 ? nodes[0] : undefined;
  // @skip / @include decide at execution whether the child runs at all.
  if (!node || (node.directives?.length ?? 0) > 0) return null;
  const parentType = getNamedType(info.returnType);
  const def = isObjectType(parentType) ? parentType.getFields()[name] : undefined;
  if (!def) return null;
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(def, node, info.variableValues);
  } catch {
    // graphql reports a bad argument on the child itself.
    return null;
  }
  return { args, selects: (child) => fieldsNamed([node.selectionSet], info.fragments, child).length > 0 };
}
