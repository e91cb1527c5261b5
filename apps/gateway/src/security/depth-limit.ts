import {
  Kind,
  getIntrospectionQuery,
  parse,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { limitError } from './limit-error';

const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

interface Depths {
  /** Deepest nesting of ordinary fields below this selection set (`__typename` not counted). */
  fields: number;
  /** Deepest nesting below this selection set that ends inside `__schema` / `__type`, every field counted; -1 when none. */
  introspection: number;
}

/**
 * Depth of a document's operations, each fragment measured once (its depth does not depend on where
 * it is spread), so nested fragment spreads cost linear time however often they are spread.
 */
function measurer(fragments: Map<string, FragmentDefinitionNode>) {
  const fragmentDepths = new Map<string, Depths>();
  const fragmentAll = new Map<string, number>();
  const inProgress = new Set<string>();

  const fragmentOf = <T>(name: string, memo: Map<string, T>, empty: T, measure: (f: FragmentDefinitionNode) => T): T => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const frag = fragments.get(name);
    // Unknown or cyclic fragments are reported by graphql's own rules.
    if (!frag || inProgress.has(name)) return empty;
    inProgress.add(name);
    const d = measure(frag);
    inProgress.delete(name);
    memo.set(name, d);
    return d;
  };

  /** Every field counted (inside introspection). */
  const allDepth = (set: SelectionSetNode | undefined): number => {
    if (!set) return 0;
    let deepest = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) deepest = Math.max(deepest, 1 + allDepth(sel.selectionSet));
      else if (sel.kind === Kind.INLINE_FRAGMENT) deepest = Math.max(deepest, allDepth(sel.selectionSet));
      else
        deepest = Math.max(
          deepest,
          fragmentOf(`${sel.name.value}`, fragmentAll, 0, (f) => allDepth(f.selectionSet)),
        );
    }
    return deepest;
  };

  const depths = (set: SelectionSetNode | undefined): Depths => {
    const out: Depths = { fields: 0, introspection: -1 };
    if (!set) return out;
    const merge = (d: Depths, plus: number) => {
      out.fields = Math.max(out.fields, d.fields + plus);
      if (d.introspection >= 0) out.introspection = Math.max(out.introspection, d.introspection + plus);
    };
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (INTROSPECTION_ROOTS.has(name)) out.introspection = Math.max(out.introspection, 1 + allDepth(sel.selectionSet));
        else if (!name.startsWith('__')) merge(depths(sel.selectionSet), 1);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        merge(depths(sel.selectionSet), 0);
      } else {
        merge(
          fragmentOf(sel.name.value, fragmentDepths, { fields: 0, introspection: -1 }, (f) => depths(f.selectionSet)),
          0,
        );
      }
    }
    return out;
  };
  return depths;
}

/** How deep graphql's standard introspection query (every option on) nests, counting every field. */
export const STANDARD_INTROSPECTION_DEPTH: number = (() => {
  const doc = parse(
    getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    }),
  );
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const measure = measurer(fragments);
  let deepest = 0;
  for (const d of doc.definitions)
    if (d.kind === Kind.OPERATION_DEFINITION) deepest = Math.max(deepest, measure(d.selectionSet).introspection);
  return deepest;
})();

/**
 * Refuses documents nested deeper than `max` fields (fragments followed; `__typename` not counted).
 * Introspection (`__schema`, `__type`) is measured too, every field counted, against
 * `introspectionMax` — by default the depth of graphql's standard introspection query, so that query
 * passes and an `ofType { ofType { … } }` chain deeper than it is refused.
 */
export function depthLimit(max: number, introspectionMax = Math.max(max, STANDARD_INTROSPECTION_DEPTH)): ValidationRule {
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const measure = measurer(fragments);
    return {
      OperationDefinition(node) {
        const d = measure(node.selectionSet);
        if (d.fields > max) {
          context.reportError(limitError(`the query is nested ${d.fields} levels deep; at most ${max} are allowed`, node));
        } else if (d.introspection > introspectionMax) {
          context.reportError(
            limitError(`the introspection query is nested ${d.introspection} levels deep; at most ${introspectionMax} are allowed`, node),
          );
        }
      },
    };
  };
}
