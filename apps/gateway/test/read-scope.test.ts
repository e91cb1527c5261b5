import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema';
import { CallerScope } from '../src/response-cache/caller-scope';

const scope = new CallerScope(buildSchema());

describe('what a cached answer is read from', () => {
  it('follows the object types a document selects, connections through their nodes', () => {
    expect(scope.of('{ connectors { totalCount edges { node { id displayName lastSyncRun { status } } } } }')).toEqual({
      callerScoped: false,
      tables: ['connectors', 'sync_runs'],
      connectorScoped: false,
    });
    expect(scope.of('query($c: ID!) { resources(connectorId: $c) { totalCount pageInfo { hasNextPage } } }')).toEqual({
      callerScoped: false,
      tables: ['resources'],
      connectorScoped: true,
    });
    const grants =
      'query($r: ID!) { resource(id: $r) { grants { edges { node { entitlement { displayName resource { displayName } } } } } } }';
    expect(scope.of(grants).tables).toEqual(['entitlements', 'grants', 'resources']);
    // A root field's own lookups count even when no field of their type is selected.
    expect(scope.of('query($c: ID!, $e: ID) { grants(connectorId: $c, entitlementId: $e) { totalCount } }')).toEqual({
      callerScoped: false,
      tables: ['connectors', 'entitlements', 'grants', 'resources'],
      connectorScoped: true,
    });
  });

  it('reads everything for root fields and types that declare nothing, and never narrows what mixes scopes', () => {
    expect(scope.of('{ me { subject } }')).toMatchObject({ callerScoped: true, tables: null });
    expect(scope.of('query($c: ID!) { resources(connectorId: $c) { totalCount } connectors { totalCount } }')).toMatchObject({
      tables: ['connectors', 'resources'],
      connectorScoped: false,
    });
    expect(scope.of('{ __typename }')).toEqual({ callerScoped: false, tables: [], connectorScoped: true });
    expect(scope.of('{ not valid')).toEqual({ callerScoped: true, tables: null, connectorScoped: false });
  });
});
