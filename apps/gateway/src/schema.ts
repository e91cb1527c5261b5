import 'reflect-metadata';
import { printSchema, type GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { AuditResolver } from './modules/audit/audit.resolver';
import { ConnectorResolver } from './modules/connectors/connector.resolver';
import { EntitlementResolver } from './modules/entitlements/entitlement.resolver';
import { GrantResolver } from './modules/grants/grant.resolver';
import { MeResolver } from './modules/me/me.resolver';
import { ProvisioningResolver } from './modules/grants/grant-request.resolver';
import { ResourceResolver } from './modules/resources/resource.resolver';
import { DateTimeScalar } from './modules/shared/scalars';
import { ConnectorLogResolver, SyncRunResolver } from './modules/sync-runs/sync-run.resolver';

let cached: GraphQLSchema | null = null;

/** The served schema, built from the resolver classes (cached: type-graphql's metadata is global). */
export function buildSchema(): GraphQLSchema {
  cached ??= buildSchemaSync({
    resolvers: [ConnectorResolver, ResourceResolver, EntitlementResolver, GrantResolver, SyncRunResolver, ConnectorLogResolver, ProvisioningResolver, AuditResolver, MeResolver],
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
