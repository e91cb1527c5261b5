import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_DENIED_ACTION } from '../src/auth/access-denied-audit';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;
let token: string;

// Without the response cache, so every request below is executed, by the lean path or by Apollo.
beforeAll(async () => {
  h = await startHarness({ RESPONSE_CACHE_MB: '0' });
  f = await seedTenant(h.db, { userCount: 60 });
  token = await h.token('SUPER_ADMIN', 'sam');
});
afterAll(async () => h?.close());

async function send(body: Record<string, unknown>, auth: string | null = token) {
  const r = await fetch(h.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, type: r.headers.get('content-type'), length: r.headers.get('content-length'), text: await r.text() };
}

const documents = (): Array<[string, Record<string, unknown>, string?]> => [
  ['{ connectors { totalCount edges { cursor node { id displayName status authMethod createdAt owners lastSyncRun { status } } } } }', {}],
  [
    'query($c: ID!, $t: String) { resources(connectorId: $c, type: USER, search: $t, first: 7) { totalCount pageInfo { hasNextPage endCursor } edges { node { id type displayName profile lastSignInAt manager { displayName } } } } }',
    { c: f.connectorId, t: 'finance' },
  ],
  [
    'query($e: ID!) { entitlement(id: $e) { displayName grants(first: 100) { totalCount edges { node { id direct expiresAt createdAt principal { displayName type } via { key } } } } } }',
    { e: f.bigGroup.memberEntitlementId },
  ],
  [
    'query Held($r: ID!) { resource(id: $r) { __typename grants(first: 20) { totalCount edges { node { id entitlement { displayName resource { displayName } } } } } } }',
    { r: f.users[3]!.id },
    'Held',
  ],
  [
    'query Two($c: ID!, $with: Boolean!) { a: connector(id: $c) { ...C } b: resources(connectorId: $c, first: 2) @include(if: $with) { totalCount } } query Other { __typename } fragment C on Connector { id displayName missingPermissions }',
    { c: f.connectorId, with: true },
    'Two',
  ],
  ['query($id: ID!) { resource(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' }],
];

describe('the lean query path', () => {
  it('answers queries with the very bytes, status and headers Apollo sends for them', async () => {
    for (const [query, variables, operationName] of documents()) {
      const before = h.gateway.leanPath.answered;
      const lean = await send({ query, variables, ...(operationName ? { operationName } : {}) });
      expect(h.gateway.leanPath.answered).toBe(before + 1);
      // `extensions` sends the same request through Apollo.
      const apollo = await send({ query, variables, ...(operationName ? { operationName } : {}), extensions: {} });
      expect(h.gateway.leanPath.answered).toBe(before + 1);
      expect(lean).toEqual(apollo);
      expect(JSON.parse(lean.text)).not.toHaveProperty('errors');
    }
  });

  it('leaves errors, refusals, mutations and unauthenticated requests to Apollo, which answers and audits them once', async () => {
    const member = await h.token('MEMBER', 'mo');
    const handed = h.gateway.leanPath.handedOver;
    const answered = h.gateway.leanPath.answered;
    const forbidden = await send({ query: '{ connectors { totalCount } }' }, member);
    expect(JSON.parse(forbidden.text).errors[0].extensions.code).toBe('FORBIDDEN');
    const denied = await h.db
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', ACCESS_DENIED_ACTION)
      .where('actor', '=', 'mo')
      .execute();
    expect(denied).toHaveLength(1);
    const missing = await send({
      query: 'query($c: ID!, $e: ID!) { grants(connectorId: $c, entitlementId: $e) { totalCount } }',
      variables: { c: f.connectorId, e: '00000000-0000-4000-8000-000000000000' },
    });
    expect(JSON.parse(missing.text).errors[0].extensions.code).toBe('NOT_FOUND');
    expect(h.gateway.leanPath.handedOver).toBe(handed + 2);
    // Refused before execution (bad variables, too deep, does not validate), and no token at all.
    const badVariable = await send({ query: 'query($c: ID!) { resources(connectorId: $c) { totalCount } }', variables: { c: 7.5 } });
    expect(JSON.parse(badVariable.text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const invalid = await send({ query: '{ connectors { nope } }' });
    expect(invalid.status).toBe(200);
    expect(JSON.parse(invalid.text).errors[0].message).toContain('Cannot query field "nope"');
    expect(JSON.parse((await send({ query: 'mutation { __typename }' })).text)).toEqual({ data: { __typename: 'Mutation' } });
    const expensive = await send({
      query:
        'query($c: ID!) { resources(connectorId: $c, first: 500) { edges { node { grants(first: 500) { edges { node { entitlement { grants(first: 500) { edges { node { id } } } } } } } } } } }',
      variables: { c: f.connectorId },
    });
    expect(expensive.status).toBe(400);
    const anonymous = await send({ query: '{ connectors { totalCount } }' }, null);
    expect(JSON.parse(anonymous.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(h.gateway.leanPath.answered).toBe(answered);
  });
});
