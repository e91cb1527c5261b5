import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchema as buildSdl,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  type GraphQLField,
  type GraphQLResolveInfo,
  type GraphQLInputField,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema, DIRECT_RESOLVERS, printGatewaySchema } from '../src/schema';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');
const checkedIn = path.resolve(here, '..', 'schema.graphql');
const contractPath = path.resolve(repoRoot, '..', 'shared', 'contract', 'core.graphql');

describe('schema', () => {
  it('the checked-in schema.graphql is what the code generates (run `npm run -w @warden/gateway schema`)', () => {
    expect(printGatewaySchema()).toBe(readFileSync(checkedIn, 'utf8'));
  });

  it('contains every type, field, argument, default and enum value of the contract with the same types', () => {
    const want = buildSdl(readFileSync(contractPath, 'utf8'));
    const have = buildSdl(printGatewaySchema());
    const problems: string[] = [];
    for (const [name, t] of Object.entries(want.getTypeMap())) {
      if (name.startsWith('__')) continue;
      const h = have.getType(name);
      if (!h) {
        problems.push(`missing type ${name}`);
        continue;
      }
      if (h.constructor !== t.constructor) problems.push(`${name}: different kind`);
      if (
        (isObjectType(t) || isInterfaceType(t) || isInputObjectType(t)) &&
        (isObjectType(h) || isInterfaceType(h) || isInputObjectType(h))
      ) {
        const hf = h.getFields() as Record<string, GraphQLField<unknown, unknown> | GraphQLInputField>;
        for (const [fname, f] of Object.entries(t.getFields() as Record<string, GraphQLField<unknown, unknown> | GraphQLInputField>)) {
          const g = hf[fname];
          if (!g) {
            problems.push(`missing field ${name}.${fname}`);
            continue;
          }
          if (String(g.type) !== String(f.type)) problems.push(`${name}.${fname}: ${String(g.type)} vs ${String(f.type)}`);
          if ('defaultValue' in f && JSON.stringify((g as GraphQLInputField).defaultValue) !== JSON.stringify(f.defaultValue))
            problems.push(`${name}.${fname} default`);
          for (const a of 'args' in f ? f.args : []) {
            const ga = 'args' in g ? g.args.find((x) => x.name === a.name) : undefined;
            if (!ga) problems.push(`missing argument ${name}.${fname}(${a.name})`);
            else {
              if (String(ga.type) !== String(a.type)) problems.push(`${name}.${fname}(${a.name}) type`);
              if (JSON.stringify(ga.defaultValue) !== JSON.stringify(a.defaultValue)) problems.push(`${name}.${fname}(${a.name}) default`);
            }
          }
          for (const ga of 'args' in g ? g.args : []) {
            const inContract = 'args' in f && f.args.some((a) => a.name === ga.name);
            if (!inContract && String(ga.type).endsWith('!') && ga.defaultValue === undefined)
              problems.push(`${name}.${fname}(${ga.name}) is a new required argument`);
          }
        }
      }
      if (isEnumType(t) && isEnumType(h))
        for (const v of t.getValues()) if (!h.getValue(v.name)) problems.push(`missing enum value ${name}.${v.name}`);
    }
    expect(problems).toEqual([]);
  });

  it('the shared check-contract tool accepts the checked-in file', () => {
    const out = execFileSync(process.execPath, ['../shared/tools/check-contract.mjs', 'apps/gateway/schema.graphql'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(out).toMatch(/schema contains the whole core contract/);
  });

  it('plain property fields have no resolver (graphql-jit reads them inline); field resolvers and role-guarded fields keep theirs', () => {
    const schema = buildSchema();
    const field = (type: string, name: string): GraphQLField<unknown, unknown> => {
      const t = schema.getType(type);
      if (!isObjectType(t)) throw new Error(`${type} is not an object type`);
      const f = t.getFields()[name];
      if (!f) throw new Error(`${type}.${name} is missing`);
      return f;
    };
    // Types without simpleResolvers: their plain fields were wrapped by type-graphql before.
    expect(field('AccessReviewItem', 'id').resolve).toBeUndefined();
    expect(field('AccessReview', 'name').resolve).toBeUndefined();
    expect(field('AccessRequest', 'status').resolve).toBeUndefined();
    // A @FieldResolver stays, and so does every root field (each carries @Authorized).
    expect(typeof field('AccessReviewItem', 'entitlement').resolve).toBe('function');
    expect(typeof field('Resource', 'grants').resolve).toBe('function');
    const query = schema.getQueryType();
    expect(Object.values(query?.getFields() ?? {}).every((f) => typeof f.resolve === 'function')).toBe(true);
  });

  it('field resolvers taking only root, context and info are called directly; arguments and roles keep type-graphql', () => {
    const schema = buildSchema();
    const isDirect = (type: string, name: string): boolean => {
      const t = schema.getType(type);
      if (!isObjectType(t)) throw new Error(`${type} is not an object type`);
      const r = t.getFields()[name]?.resolve;
      return r !== undefined && DIRECT_RESOLVERS.has(r);
    };
    for (const [type, name] of [
      ['Grant', 'principal'],
      ['Grant', 'entitlement'],
      ['Entitlement', 'resource'],
      ['Connector', 'lastSyncRun'],
      ['AccessReviewItem', 'principal'],
    ] as const)
      expect(isDirect(type, name), `${type}.${name}`).toBe(true);
    // Arguments (converted by type-graphql), and every root field (each carries @Authorized).
    expect(isDirect('Resource', 'grants')).toBe(false);
    expect(isDirect('Connector', 'syncRuns')).toBe(false);
    expect(Object.keys(schema.getQueryType()?.getFields() ?? {}).some((n) => isDirect('Query', n))).toBe(false);
  });

  it('a direct field resolver answers what its method answers for the root it is given', async () => {
    const t = buildSchema().getType('Resource');
    if (!isObjectType(t)) throw new Error('Resource is not an object type');
    const profile = { userPrincipalName: 'ada@example.test' };
    const info = {} as GraphQLResolveInfo;
    // The row came with its profile, so no loader is asked (this context has none).
    expect(await t.getFields()['profile']!.resolve!({ id: 'r1', type: 'USER', profile }, {}, {}, info)).toBe(profile);
    expect(await t.getFields()['lastSignInAt']!.resolve!({ id: 'r1', type: 'GROUP', profile }, {}, {}, info)).toBeNull();
  });
});
