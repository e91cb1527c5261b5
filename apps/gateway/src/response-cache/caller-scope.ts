import { LRUCache } from 'lru-cache';
import {
  TypeInfo,
  getNamedType,
  isLeafType,
  isObjectType,
  parse,
  visit,
  visitWithTypeInfo,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { callerIdentityKey, type Caller } from '../auth/roles';

/**
 * Marks a field whose answer depends on who the caller is, not only on their role
 * (`@Extensions(CALLER_SCOPED)` on the resolver): documents that select it are cached per caller.
 */
export const CALLER_SCOPED = { callerScoped: true } as const;

/** What a document's answer depends on besides its variables (see read-scope.ts for the declarations). */
export interface DocumentScope {
  /** It selects a caller-scoped field: cached per caller, not per role. */
  callerScoped: boolean;
  /** Served tables it may read; null: any. */
  tables: string[] | null;
  /** Every root field it selects is connector-scoped, so the connectors its resolvers name bound what it read. */
  connectorScoped: boolean;
}

const UNKNOWN: DocumentScope = { callerScoped: true, tables: null, connectorScoped: false };

/**
 * Decides, once per document, the cache partition (the caller's role, or the caller themself when the
 * document selects a caller-scoped field anywhere, fragments included) and what its answer is read
 * from. Both the Apollo plugin and the HTTP fast path ask this, so a hit can never cross from one
 * caller to another.
 */
export class CallerScope {
  private readonly scopedFields: Set<string>;
  private readonly typeTables = new Map<string, string[] | null>();
  private readonly byDocument = new LRUCache<string, DocumentScope>({ max: 2_000 });

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
    return this.of(query).callerScoped;
  }

  /** The part of the cache key that says whose answer it is. */
  partition(caller: Caller, query: string): string {
    // Caller-scoped: every claim the answer may depend on (subject, tenant, object id, name), not only `sub`.
    return this.isCallerScoped(query) ? `${caller.role}\u0001${callerIdentityKey(caller)}` : caller.role;
  }

  of(query: string): DocumentScope {
    const known = this.byDocument.get(query);
    if (known !== undefined) return known;
    let result: DocumentScope;
    try {
      result = this.analyse(query);
    } catch {
      // Apollo refuses what does not parse; until then, assume the worst.
      result = UNKNOWN;
    }
    this.byDocument.set(query, result);
    return result;
  }

  private analyse(query: string): DocumentScope {
    const typeInfo = new TypeInfo(this.schema);
    const queryType = this.schema.getQueryType();
    let callerScoped = false;
    let connectorScoped = true;
    let tables: Set<string> | null = new Set();
    const add = (more: readonly string[] | null) => {
      if (more === null) tables = null;
      else if (tables) for (const t of more) tables.add(t);
    };
    // Every operation and fragment of the document counts, used or not: more tables, never fewer.
    visit(
      parse(query),
      visitWithTypeInfo(typeInfo, {
        Field: () => {
          const parent = typeInfo.getParentType();
          const field = typeInfo.getFieldDef();
          if (!parent || !field) return;
          const parentName = getNamedType(parent).name;
          if (this.scopedFields.has(`${parentName}.${field.name}`)) callerScoped = true;
          if (field.name.startsWith('__')) return; // __typename, introspection: nothing from the database
          if (parentName === queryType?.name) {
            add((field.extensions['reads'] as string[] | undefined) ?? null);
            if (field.extensions['connectorScoped'] !== true) connectorScoped = false;
          } else if (parentName === 'Mutation' || parentName === 'Subscription') {
            add(null);
            connectorScoped = false;
          }
          const returned = getNamedType(field.type);
          if (!isObjectType(returned)) {
            // Scalars and enums come from the parent's row; an interface or union could be anything.
            if (!isLeafType(returned)) add(null);
            return;
          }
          add(this.tablesOf(returned));
        },
      }),
    );
    const list = tables as Set<string> | null;
    return { callerScoped, tables: list ? [...list].sort() : null, connectorScoped };
  }

  /** The tables selecting a field of this type reads (declared with `reads`; connections and edges follow their node). */
  private tablesOf(type: GraphQLObjectType, seen = new Set<string>()): string[] | null {
    const known = this.typeTables.get(type.name);
    if (known !== undefined) return known;
    let tables: string[] | null = (type.extensions['reads'] as string[] | undefined) ?? null;
    if (tables === null && !seen.has(type.name)) {
      seen.add(type.name);
      const fields = type.getFields();
      const via = fields['node'] ?? fields['edges'];
      const next = via ? getNamedType(via.type) : null;
      if (next && isObjectType(next) && (type.name.endsWith('Edge') || type.name.endsWith('Connection')))
        tables = this.tablesOf(next, seen);
    }
    this.typeTables.set(type.name, tables);
    return tables;
  }
}
