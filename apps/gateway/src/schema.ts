import 'reflect-metadata';
import { isObjectType, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchemaSync, getMetadataStorage } from 'type-graphql';
import { authChecker } from './auth/authorize';
import { AuditResolver } from './modules/audit/audit.resolver';
import { ConnectorResolver } from './modules/connectors/connector.resolver';
import { EntitlementResolver } from './modules/entitlements/entitlement.resolver';
import { GrantResolver } from './modules/grants/grant.resolver';
import { MeResolver } from './modules/me/me.resolver';
// After MeResolver, where modules/provisioning sorted: import order decides type order in the printed schema.
import { GrantRequestResolver } from './modules/grants/grant-request.resolver';
import { ResourceResolver } from './modules/resources/resource.resolver';
import { AccessReviewItemResolver, AccessReviewResolver } from './modules/reviews/review.resolver';
import { AccessPolicyResolver } from './modules/policies/access-policy.resolver';
import { RequestableEntitlementResolver } from './modules/policies/requestable-entitlement';
import { AccessRequestResolver } from './modules/requests/access-request.resolver';
import { DateTimeScalar } from './modules/shared/scalars';
import { ConnectorLogResolver, SyncRunResolver } from './modules/sync-runs/sync-run.resolver';

/** Every resolver class of the served schema (test/authorization-declared.test.ts walks their fields). */
export const RESOLVERS = [
  ConnectorResolver,
  ResourceResolver,
  EntitlementResolver,
  GrantResolver,
  SyncRunResolver,
  ConnectorLogResolver,
  GrantRequestResolver,
  AuditResolver,
  MeResolver,
  AccessReviewResolver,
  AccessReviewItemResolver,
  AccessPolicyResolver,
  RequestableEntitlementResolver,
  AccessRequestResolver,
] as const;

let cached: GraphQLSchema | null = null;

/** The served schema, built from the resolver classes (cached: type-graphql's metadata is global). */
export function buildSchema(): GraphQLSchema {
  cached ??= buildSchemaSync({
    resolvers: RESOLVERS,
    // Role rules are declared with @Authorized on every Query/Mutation/Subscription field (see
    // src/auth/authorize.ts); the checker throws the contract's UNAUTHENTICATED / FORBIDDEN itself.
    authChecker,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // Inputs are validated with zod in the services, not with class-validator.
    validate: false,
    emitSchemaFile: false,
    // Every @Subscription here has its own `subscribe` (fed by NATS through the Bus); type-graphql
    // still insists on a pubSub, which nothing uses.
    pubSub: {
      publish: () => undefined,
      subscribe: () => {
        throw new Error('topic-based subscriptions are not used; see src/subscriptions');
      },
    },
  });
  dropPlainPropertyResolvers(cached);
  return cached;
}

/**
 * type-graphql gives every plain `@Field` a resolver that allocates a resolver-data object and reads
 * `root[name]`; with no middleware and no role on the field it answers exactly what graphql's default
 * resolver does. Without a resolver graphql-jit reads the property inline, which matters on a page of
 * a hundred rows (fields × rows calls per request). Fields with a field resolver, roles, middlewares
 * or a schema name other than their property keep type-graphql's resolver.
 */
function dropPlainPropertyResolvers(schema: GraphQLSchema): void {
  const storage = getMetadataStorage();
  const withResolver = new Set<string>();
  for (const r of storage.fieldResolvers) {
    const owner = r.getObjectType?.();
    if (owner) withResolver.add(`${storage.objectTypes.find((t) => t.target === owner)?.name ?? ''}.${r.methodName}`);
  }
  // Keyed by class, not by name: generic connection classes can share a class name.
  const plain = new Map<object, Set<string>>();
  for (const field of storage.fields) {
    if (field.name !== field.schemaName) continue;
    if ((field.roles?.length ?? 0) > 0 || (field.middlewares?.length ?? 0) > 0 || (field.params?.length ?? 0) > 0) continue;
    const names = plain.get(field.target) ?? new Set<string>();
    names.add(field.name);
    plain.set(field.target, names);
  }
  for (const objectType of storage.objectTypes) {
    const type = schema.getType(objectType.name);
    const names = plain.get(objectType.target);
    if (!isObjectType(type) || !names) continue;
    for (const [name, field] of Object.entries(type.getFields())) {
      if (names.has(name) && !withResolver.has(`${objectType.name}.${name}`)) field.resolve = undefined;
    }
  }
}

export function printGatewaySchema(): string {
  return printSchema(buildSchema()) + '\n';
}
