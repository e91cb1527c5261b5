import { LRUCache } from 'lru-cache';
import {
  Kind,
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
import type { ServedTable } from '@warden/database';
import { callerIdentityKey, type Caller } from '../auth/roles';
import { ROW_KEYED_TABLES } from './read-scope';

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
  /**
   * Row-keyed tables (read-scope.ts ROW_KEYED_TABLES) it reaches only through fields whose resolvers
   * name the rows they read (`GRANTS_BY_KEY`): watched per row instead of per table.
   */
  rowKeyed: string[];
}

const UNKNOWN: DocumentScope = { callerScoped: true, tables: null, connectorScoped: false, rowKeyed: [] };

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
  private readonly names = new LRUCache<string, { name: string | null }>({ max: 2_000 });

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

  /** The name of the document's operation when it has exactly one (what a client that sends no operationName runs), for the metrics. */
  operationNameOf(query: string): string | null {
    const known = this.names.get(query);
    if (known !== undefined) return known.name;
    let name: string | null = null;
    try {
      const ops = parse(query).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
      name = ops.length === 1 ? (ops[0]!.name?.value ?? null) : null;
    } catch {
      name = null;
    }
    this.names.set(query, { name });
    return name;
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
    // Row-keyed tables reached through a field that names its rows, and through any other field.
    const keyed = new Set<string>();
    const whole = new Set<string>();
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
            const own = (field.extensions['reads'] as string[] | undefined) ?? null;
            add(own);
            // A root field's own lookups are not keyed by row.
            for (const t of own ?? []) if (ROW_KEYED_TABLES.includes(t as ServedTable)) whole.add(t);
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
          const read = this.tablesOf(returned);
          add(read);
          for (const t of read ?? []) {
            if (!ROW_KEYED_TABLES.includes(t as ServedTable)) continue;
            const byKey = ((field.extensions['rowKeyed'] as readonly string[] | undefined) ?? []).includes(t);
            // A connection's edges and nodes are the rows the field that returned the connection read.
            const within =
              /(Connection|Edge)$/.test(parentName) && (field.name === 'edges' || field.name === 'node' || field.name === 'nodes');
            if (byKey) keyed.add(t);
            else if (!within) whole.add(t);
          }
        },
      }),
    );
    const list = tables as Set<string> | null;
    const rowKeyed = list ? [...keyed].filter((t) => !whole.has(t)).sort() : [];
    return { callerScoped, tables: list ? [...list].sort() : null, connectorScoped, rowKeyed };
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
