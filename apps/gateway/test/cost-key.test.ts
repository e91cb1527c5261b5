import 'reflect-metadata';
import { getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema';
import { costCheck, costKey } from '../src/security/complexity';

// The cost of an operation is remembered under costKey: one entry for every id or search term, never
// one price for two different page sizes, and variables that do not coerce still reach execution.
const schema = buildSchema();
const QUERY =
  'query Page($c: ID!, $n: Int, $t: String) { resources(connectorId: $c, search: $t, first: $n) { edges { node { grants(first: $n) { edges { node { id } } } } } } }';

describe('costKey', () => {
  it('is the same for requests that differ only in strings, and differs with a number', () => {
    const a = costKey('Page', { c: 'a1', n: 10, t: 'so' }, QUERY);
    expect(costKey('Page', { c: 'b2', n: 10, t: 'sofia' }, QUERY)).toBe(a);
    expect(costKey('Page', { c: 'a1', n: 500, t: 'so' }, QUERY)).not.toBe(a);
    expect(costKey('Other', { c: 'a1', n: 10, t: 'so' }, QUERY)).not.toBe(a);
  });

  it('prices a larger page again after a small one was remembered, and lets an uncoercible variable through', () => {
    const check = costCheck(schema, 1_000);
    const document = parse(QUERY);
    const operation = getOperationAST(document, 'Page')!;
    const run = (vars: Record<string, unknown>) => () => check(document, operation, vars, costKey('Page', vars, QUERY));
    expect(run({ c: 'a', n: 5, t: 'x' })).not.toThrow();
    expect(run({ c: 'b', n: 5, t: 'y' })).not.toThrow();
    expect(run({ c: 'a', n: 500, t: 'x' })).toThrow(/too expensive/);
    // `n` as a string does not coerce to Int: execution refuses it (BAD_USER_INPUT), not the cost check.
    expect(run({ c: 'a', n: '500', t: 'x' })).not.toThrow();
  });
});
