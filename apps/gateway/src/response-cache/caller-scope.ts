import { LRUCache } from 'lru-cache';
import { TypeInfo, getNamedType, isObjectType, parse, visit, visitWithTypeInfo, type GraphQLSchema } from 'graphql';
import { callerIdentityKey, type Caller } from '../auth/roles';

/**
 * Marks a field whose answer depends on who the caller is, not only on their role
 * (`@Extensions(CALLER_SCOPED)` on the resolver): documents that select it are cached per caller.
 */
export const CALLER_SCOPED = { callerScoped: true } as const;

/**
 * Decides the cache partition of a document: the caller's role, or the caller themself when the
 * document selects a caller-scoped field anywhere (fragments included). Both the Apollo plugin and
 * the HTTP fast path ask this, so a hit can never cross from one caller to another.
 */
export class CallerScope {
  private readonly scopedFields: Set<string>;
  private readonly byDocument = new LRUCache<string, boolean>({ max: 2_000 });

  constructor(private readonly schema: GraphQLSchema) {
    this.scopedFields = new Set();
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        if (field.extensions['callerScoped'] === true) this.scopedFields.add(`${type.name}.${field.name}`);
      }
    }
  }

  /** True when the answer to `query` may differ between two callers of the same role. */
  isCallerScoped(query: string): boolean {
    const known = this.byDocument.get(query);
    if (known !== undefined) return known;
    let scoped = false;
    try {
      const typeInfo = new TypeInfo(this.schema);
      visit(
        parse(query),
        visitWithTypeInfo(typeInfo, {
          Field: () => {
            const parent = typeInfo.getParentType();
            const field = typeInfo.getFieldDef();
            if (parent && field && this.scopedFields.has(`${getNamedType(parent).name}.${field.name}`)) scoped = true;
          },
        }),
      );
    } catch {
      // Apollo refuses what does not parse; until then, assume the worst.
      scoped = true;
    }
    this.byDocument.set(query, scoped);
    return scoped;
  }

  /** The part of the cache key that says whose answer it is. */
  partition(caller: Caller, query: string): string {
    // Caller-scoped: every claim the answer may depend on (subject, tenant, object id, name), not only `sub`.
    return this.isCallerScoped(query) ? `${caller.role}\u0001${callerIdentityKey(caller)}` : caller.role;
  }
}
