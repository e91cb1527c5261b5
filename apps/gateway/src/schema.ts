import 'reflect-metadata';
import { printSchema, type GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
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
  return cached;
}

export function printGatewaySchema(): string {
  return printSchema(buildSchema()) + '\n';
}
