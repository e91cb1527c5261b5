import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { AuthorizationError, Authorized, buildSchemaSync, getMetadataStorage, Query, Resolver } from 'type-graphql';
import { describe, expect, it } from 'vitest';
import { authChecker, CREATE_CONNECTORS, type AccessRule } from '../src/auth/authorize';
import type { GatewayContext } from '../src/context';
import { asContractError, ForbiddenError, UnauthenticatedError } from '../src/errors';
import { buildSchema, RESOLVERS } from '../src/schema';

/**
 * Role rules are declared with @Authorized on the root fields (src/auth/authorize.ts). A field
 * without a declaration would run for anyone, token or not, so this file fails for one: a new
 * resolver cannot slip in without saying who may call it. A field that is meant to be public goes
 * into PUBLIC_FIELDS, with a reason, in review.
 */
const PUBLIC_FIELDS: readonly string[] = [];

type Kind = 'Query' | 'Mutation' | 'Subscription';

/** Each root field of `schema` with the @Authorized rules declared on its resolver method (undefined: none). */
function declaredRules(schema: GraphQLSchema, resolvers: readonly object[]): Map<string, unknown[] | undefined> {
  const storage = getMetadataStorage();
  const handlers: Record<Kind, { target: object; methodName: string; schemaName: string }[]> = {
    Query: storage.queries,
    Mutation: storage.mutations,
    Subscription: storage.subscriptions,
  };
  const out = new Map<string, unknown[] | undefined>();
  for (const kind of ['Query', 'Mutation', 'Subscription'] as const) {
    const type = kind === 'Query' ? schema.getQueryType() : kind === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    for (const name of Object.keys(type?.getFields() ?? {})) {
      const handler = handlers[kind].find((h) => h.schemaName === name && resolvers.includes(h.target));
      expect(handler, `${kind}.${name} has no resolver method in the given classes`).toBeDefined();
      const declared = storage.authorizedFields.find((a) => a.target === handler!.target && a.fieldName === handler!.methodName);
      out.set(`${kind}.${name}`, declared ? [...declared.roles] : undefined);
    }
  }
  return out;
}

describe('every root field declares its role rule', () => {
  const schema = buildSchema();
  const rules = declaredRules(schema, RESOLVERS);

  it('finds the fields of all three root types', () => {
    expect([...rules.keys()].filter((k) => k.startsWith('Subscription.')).sort()).toEqual([
      'Subscription.accessRequestUpdated',
      'Subscription.accessReviewUpdated',
      'Subscription.provisioningTaskUpdated',
      'Subscription.syncRunUpdated',
    ]);
    expect([...rules.keys()]).toContain('Query.connectors');
    expect([...rules.keys()]).toContain('Mutation.grant');
  });

  it('each Query, Mutation and Subscription field has @Authorized (or is listed as public)', () => {
    const undeclared = [...rules].filter(([name, r]) => r === undefined && !PUBLIC_FIELDS.includes(name)).map(([name]) => name);
    expect(undeclared).toEqual([]);
  });

  it('each Mutation declares a role rule, not only "authenticated"', () => {
    const anyCaller = [...rules].filter(([name, r]) => name.startsWith('Mutation.') && (r?.length ?? 0) === 0).map(([name]) => name);
    expect(anyCaller).toEqual([]);
  });

  it('a resolver without a declaration is reported', () => {
    @Resolver()
    class Slipped {
      @Query(() => String)
      open(): string {
        return 'anyone';
      }

      @Query(() => String)
      @Authorized()
      guarded(): string {
        return 'callers';
      }
    }
    const other = buildSchemaSync({ resolvers: [Slipped], authChecker, validate: false });
    const found = declaredRules(other, [Slipped]);
    expect(found.get('Query.open')).toBeUndefined();
    expect(found.get('Query.guarded')).toEqual([]);
  });
});

describe('authChecker answers with the contract errors', () => {
  const ctx = (caller: GatewayContext['caller']) => ({
    context: { caller } as GatewayContext,
    args: {},
    root: undefined,
    info: undefined as never,
  });

  it('no caller: UNAUTHENTICATED with the usual message, for any rule', async () => {
    for (const rules of [[], [CREATE_CONNECTORS]] as AccessRule[][]) {
      const err = await Promise.resolve(authChecker(ctx(null), rules)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnauthenticatedError);
      expect((err as UnauthenticatedError).message).toBe('authentication required: send Authorization: Bearer <token>');
    }
  });

  it("a role outside the rule: FORBIDDEN with the rule's message; a role inside passes", async () => {
    const err = await Promise.resolve(authChecker(ctx({ sub: 'v', role: 'VIEWER' }), [CREATE_CONNECTORS])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).message).toBe('creating connectors needs the SUPER_ADMIN or CONNECTOR_ADMIN role');
    expect(await authChecker(ctx({ sub: 'a', role: 'CONNECTOR_ADMIN' }), [CREATE_CONNECTORS])).toBe(true);
    expect(await authChecker(ctx({ sub: 'v', role: 'VIEWER' }), [])).toBe(true);
  });

  it("type-graphql's own refusal (a checker answering false) maps to FORBIDDEN, not UNAUTHORIZED", () => {
    const mapped = asContractError(new AuthorizationError());
    expect(mapped).toBeInstanceOf(ForbiddenError);
    expect((mapped as ForbiddenError).code).toBe('FORBIDDEN');
  });
});
