import 'reflect-metadata';
import { isObjectType, printSchema, type GraphQLFieldResolver, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
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
  callFieldResolversDirectly(cached);
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

type ResolverMethod = (this: object, ...values: unknown[]) => unknown;

/** The resolve functions callFieldResolversDirectly installed (test/schema.test.ts tells them apart). */
export const DIRECT_RESOLVERS = new WeakSet<object>();

/**
 * type-graphql calls a `@FieldResolver` method through a wrapper that, on every call, allocates its
 * resolver data, looks the resolver class's instance up in its container (a linear search), sorts
 * and maps the parameter metadata and tests every value for a promise: per row of a page and per
 * relation selected (a hundred grants with their entitlement and its resource are two hundred calls).
 * A field resolver whose parameters are only `@Root()`, `@Ctx()` and `@Info()`, with no role and no
 * middleware, is what that wrapper reduces to: the method, on an instance of its class, with those
 * values. It gets that call directly. The resolver classes hold no state (this instance and the
 * container's are interchangeable); anything else — arguments, which type-graphql converts, a root
 * property, roles, middlewares — keeps type-graphql's wrapper.
 */
function callFieldResolversDirectly(schema: GraphQLSchema): void {
  const storage = getMetadataStorage();
  const instances = new Map<object, Record<string, unknown>>();
  for (const r of storage.fieldResolvers) {
    if (r.kind !== 'external' || r.roles !== undefined || (r.middlewares?.length ?? 0) > 0) continue;
    const params = [...(r.params ?? [])].sort((a, b) => a.index - b.index);
    const takesOnlyRootContextInfo = params.every(
      (p, i) => p.index === i && (p.kind === 'context' || p.kind === 'info' || (p.kind === 'root' && !p.propertyName)),
    );
    const owner = r.getObjectType?.();
    const type = schema.getType(storage.objectTypes.find((t) => t.target === owner)?.name ?? '');
    const field = isObjectType(type) ? type.getFields()[r.schemaName] : undefined;
    if (!takesOnlyRootContextInfo || !field) continue;
    const Target = r.target as new () => Record<string, unknown>;
    let instance = instances.get(Target);
    if (!instance) instances.set(Target, (instance = new Target()));
    const method = instance[r.methodName];
    if (typeof method !== 'function') continue;
    const self = instance;
    const call = method as ResolverMethod;
    // What getParams hands the method for each parameter, in order.
    const pick = params.map(
      (p): ((root: Record<string, unknown>, context: Record<string, unknown>, info: GraphQLResolveInfo) => unknown) => {
        const property = 'propertyName' in p ? p.propertyName : undefined;
        if (p.kind === 'info') return (_root, _context, info) => info;
        if (p.kind === 'context') return property ? (_root, context) => context[property] : (_root, context) => context;
        return (root) => root;
      },
    );
    const direct: GraphQLFieldResolver<Record<string, unknown>, Record<string, unknown>> = (root, _args, context, info) =>
      call.apply(
        self,
        pick.map((f) => f(root, context, info)),
      );
    // A root typed by decorator metadata (where the compiler emits it, e.g. under vitest) is handed
    // over unchanged when it is an instance of its class, which the mappers return; anything else
    // goes through type-graphql, which copies it into one.
    const rootParam = params.find((p) => p.kind === 'root');
    const RootType = rootParam && 'getType' in rootParam && rootParam.getType ? (rootParam.getType() as unknown) : undefined;
    const wrapped = field.resolve;
    const resolve: GraphQLFieldResolver<Record<string, unknown>, Record<string, unknown>> = typeof RootType === 'function' && wrapped
      ? (root, args, context, info) => (root instanceof RootType ? direct(root, args, context, info) : wrapped(root, args, context, info))
      : direct;
    DIRECT_RESOLVERS.add(resolve);
    field.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
  }
}

export function printGatewaySchema(): string {
  return printSchema(buildSchema()) + '\n';
}
