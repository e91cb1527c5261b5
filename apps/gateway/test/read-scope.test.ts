import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema';
import { GraphQLID, GraphQLInt, GraphQLList, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { CallerScope } from '../src/response-cache/caller-scope';
import { GRANTS_BY_KEY, reads } from '../src/response-cache/read-scope';

const scope = new CallerScope(buildSchema());

describe('what a cached answer is read from', () => {
  it('follows the object types a document selects, connections through their nodes', () => {
    expect(scope.of('{ connectors { totalCount edges { node { id displayName lastSyncRun { status } } } } }')).toEqual({
      callerScoped: false,
      tables: ['connectors', 'sync_runs'],
      connectorScoped: false,
      rowKeyed: [],
    });
    expect(scope.of('query($c: ID!) { resources(connectorId: $c) { totalCount pageInfo { hasNextPage } } }')).toEqual({
      callerScoped: false,
      tables: ['resources'],
      connectorScoped: true,
      rowKeyed: [],
    });
    const grants =
      'query($r: ID!) { resource(id: $r) { grants { edges { node { entitlement { displayName resource { displayName } } } } } } }';
    expect(scope.of(grants).tables).toEqual(['entitlements', 'grants', 'resources']);
    // A root field's own lookups count even when no field of their type is selected.
    expect(scope.of('query($c: ID!, $e: ID) { grants(connectorId: $c, entitlementId: $e) { totalCount } }')).toEqual({
      callerScoped: false,
      tables: ['connectors', 'entitlements', 'grants', 'resources'],
      connectorScoped: true,
      rowKeyed: ['grants'],
    });
  });

  it('watches grants per row only when every field that reaches them names its rows', () => {
    const holders =
      'query($e: ID!) { entitlement(id: $e) { grants(first: 50) { totalCount edges { node { principal { displayName } } } } } }';
    expect(scope.of(holders)).toMatchObject({ tables: ['entitlements', 'grants', 'resources'], rowKeyed: ['grants'] });
    // Both row-keyed fields in one document: still per row (each resolver names its own).
    expect(
      scope.of(`query($e: ID!, $r: ID!) { entitlement(id: $e) { grants { totalCount } } resource(id: $r) { grants { totalCount } } }`)
        .rowKeyed,
    ).toEqual(['grants']);
    const viaFragment = `query($e: ID!) { entitlement(id: $e) { ...G } } fragment G on Entitlement { grants { edges { node { id } } } }`;
    expect(scope.of(viaFragment).rowKeyed).toEqual(['grants']);
    expect(scope.of('{ connectors { totalCount } }').rowKeyed).toEqual([]);

    // Every field of the contract that reaches grants names its rows, so the other case is shown on
    // a schema of its own: grants reached through a field without GRANTS_BY_KEY, or a type that
    // reads grants itself, keep the whole table watched for the document.
    const Grant = new GraphQLObjectType({ name: 'Grant', extensions: reads('grants'), fields: { id: { type: GraphQLID } } });
    const GrantEdge = new GraphQLObjectType({ name: 'GrantEdge', fields: { node: { type: Grant } } });
    const GrantConnection = new GraphQLObjectType({ name: 'GrantConnection', fields: { edges: { type: new GraphQLList(GrantEdge) } } });
    const Summary = new GraphQLObjectType({
      name: 'Summary',
      extensions: reads('grants', 'resources'),
      fields: { n: { type: GraphQLInt } },
    });
    const Thing = new GraphQLObjectType({
      name: 'Thing',
      extensions: reads('resources'),
      fields: {
        keyed: { type: GrantConnection, extensions: GRANTS_BY_KEY },
        unkeyed: { type: GrantConnection },
        summary: { type: Summary },
      },
    });
    const own = new CallerScope(
      new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: { thing: { type: Thing, extensions: reads() } } }) }),
    );
    expect(own.of('{ thing { keyed { edges { node { id } } } } }').rowKeyed).toEqual(['grants']);
    expect(own.of('{ thing { keyed { edges { node { id } } } unkeyed { edges { node { id } } } } }').rowKeyed).toEqual([]);
    expect(own.of('{ thing { keyed { edges { node { id } } } summary { n } } }').rowKeyed).toEqual([]);
  });

  it('reads everything for root fields and types that declare nothing, and never narrows what mixes scopes', () => {
    expect(scope.of('{ me { subject } }')).toMatchObject({ callerScoped: true, tables: null });
    expect(scope.of('query($c: ID!) { resources(connectorId: $c) { totalCount } connectors { totalCount } }')).toMatchObject({
      tables: ['connectors', 'resources'],
      connectorScoped: false,
    });
    expect(scope.of('{ __typename }')).toEqual({ callerScoped: false, tables: [], connectorScoped: true, rowKeyed: [] });
    expect(scope.of('{ not valid')).toEqual({ callerScoped: true, tables: null, connectorScoped: false, rowKeyed: [] });
    // A document that reads everything watches no table per row.
    expect(scope.of('query($e: ID!) { me { subject } entitlement(id: $e) { grants { totalCount } } }')).toMatchObject({
      tables: null,
      rowKeyed: [],
    });
  });
});
