import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../src/auth/jwt';
import { seedTenant, type Fixture } from './support/fixture';
import { JWT_SECRET, startHarness, type Harness } from './support/harness';

/** `me`: who the caller is, linked to the synced USER resources by the token's `tid` and `oid`. */
const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const TSX = path.resolve(here, '../../../node_modules/.bin/tsx');
const CLI = path.resolve(here, '../src/cli/mint-token.ts');

const TENANT = '11111111-1111-4111-8111-111111111111'; // seedTenant's tenant
const OTHER_TENANT = '99999999-9999-4999-8999-999999999999';
const ME = '{ me { subject roles displayName identities { id externalId displayName type } } }';

let h: Harness;
let f: Fixture;
let second: string;
let secondUserId: string;
let user: { id: string; externalId: string; name: string };

beforeAll(async () => {
  h = await startHarness();
  f = await seedTenant(h.db, { userCount: 20, name: 'A Contoso' });
  user = f.users[3]!;
  // A second connector for the same tenant (upper-case tenant id, as typed), holding the same user;
  // a third for another tenant that happens to hold a resource with the same object id.
  const c2 = await h.db
    .insertInto('connectors')
    .values({ display_name: 'B Contoso again', tenant_id: TENANT.toUpperCase(), auth_method: 'CLIENT_SECRET', owners: ['x'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  second = c2.id;
  const c3 = await h.db
    .insertInto('connectors')
    .values({ display_name: 'Fabrikam', tenant_id: OTHER_TENANT, auth_method: 'CLIENT_SECRET', owners: ['x'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  const rows = await h.db
    .insertInto('resources')
    .values([
      { connector_id: second, type: 'USER', external_id: user.externalId, display_name: user.name, profile: '{}', search_text: '' },
      { connector_id: c3.id, type: 'USER', external_id: user.externalId, display_name: 'Someone else', profile: '{}', search_text: '' },
    ])
    .returning(['id', 'connector_id'])
    .execute();
  secondUserId = rows.find((r) => r.connector_id === second)!.id;
});
afterAll(async () => h?.close());

type MeAnswer = {
  me: { subject: string; roles: string[]; displayName: string | null; identities: { id: string; externalId: string; type: string }[] };
};

describe('me', () => {
  it('returns subject, roles, displayName and one identity per connector of the caller’s tenant', async () => {
    const token = await h.token('VIEWER', 'alice@contoso', { tid: TENANT, oid: user.externalId, name: 'Alice' });
    const r = await h.gql<MeAnswer>(token, ME);
    expect(r.errors).toBeUndefined();
    expect(r.data!.me.subject).toBe('alice@contoso');
    expect(r.data!.me.roles).toEqual(['VIEWER']);
    expect(r.data!.me.displayName).toBe('Alice');
    // Ordered by connector name: 'A Contoso', then 'B Contoso again'; not Fabrikam's look-alike.
    expect(r.data!.me.identities.map((i) => i.id)).toEqual([user.id, secondUserId]);
    expect(r.data!.me.identities.every((i) => i.type === 'USER' && i.externalId === user.externalId)).toBe(true);
  });

  it('has no identities without tid/oid, for a tenant without a connector, or for an object id that is not a user', async () => {
    for (const claims of [{}, { tid: OTHER_TENANT.replace('9', '8'), oid: user.externalId }, { tid: TENANT, oid: f.bigGroup.externalId }]) {
      const r = await h.gql<MeAnswer>(await h.token('VIEWER', `v-${JSON.stringify(claims)}`, claims), ME);
      expect(r.data!.me.identities).toEqual([]);
      expect(r.data!.me.displayName).toBeNull();
    }
  });

  it('a member reads me (roles: []) and the plain fields of its identities, nothing beyond them', async () => {
    const token = await h.token('MEMBER', 'bob@contoso', { tid: TENANT, oid: user.externalId, name: 'Bob' });
    const r = await h.gql<MeAnswer>(token, ME);
    expect(r.errors).toBeUndefined();
    expect(r.data!.me.roles).toEqual([]);
    expect(r.data!.me.identities).toHaveLength(2);
    expect((await h.gql(token, '{ me { identities { __typename profile } } }')).errors).toBeUndefined();
    // Relations lead into the inventory: refused for members, through fragments too; each audited
    // (one subject per query: access.denied rows are rate-limited per subject and operation).
    for (const [n, query] of [
      '{ me { identities { connector { id owners } } } }',
      '{ me { identities { grants(first: 5) { totalCount } } } }',
      '{ me { ...M } } fragment M on Me { identities { ... on Resource { entitlements { id } } } }',
    ].entries()) {
      const member = await h.token('MEMBER', `member-${n}`, { tid: TENANT, oid: user.externalId });
      const before = (await h.db.selectFrom('audit_events').select('id').where('action', '=', 'access.denied').execute()).length;
      const refused = await h.gql(member, query);
      expect(refused.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect(refused.data ?? null).toBeNull();
      const after = (await h.db.selectFrom('audit_events').select('id').where('action', '=', 'access.denied').execute()).length;
      expect(after, query).toBe(before + 1);
    }
    // A viewer may follow them.
    const viewer = await h.token('VIEWER', 'vera', { tid: TENANT, oid: user.externalId });
    expect((await h.gql(viewer, '{ me { identities { connector { id } grants(first: 1) { totalCount } } } }')).errors).toBeUndefined();
  });

  it('is cached per caller and per claim: the same subject with another oid or name gets its own answer', async () => {
    const a = await h.token('VIEWER', 'same-sub', { tid: TENANT, oid: user.externalId, name: 'First' });
    const b = await h.token('VIEWER', 'same-sub', { tid: TENANT, oid: f.users[5]!.externalId, name: 'Second' });
    const ra = await h.gql<MeAnswer>(a, ME);
    const rb = await h.gql<MeAnswer>(b, ME);
    expect(ra.data!.me.displayName).toBe('First');
    expect(rb.data!.me.displayName).toBe('Second');
    expect(rb.data!.me.identities.map((i) => i.id)).toEqual([f.users[5]!.id]);
    expect((await h.gql<MeAnswer>(a, ME)).data!.me.identities.map((i) => i.id)).toEqual([user.id, secondUserId]);
  });

  it('the token CLI mints --tid, --oid, --name and --role MEMBER (no role claim), and refuses a non-GUID tid', async () => {
    const { stdout } = await run(
      TSX,
      [CLI, '--role', 'MEMBER', '--sub', 'carol', '--tid', TENANT, '--oid', user.externalId, '--name', 'Carol C'],
      { env: { ...process.env, AUTH_JWT_SECRET: JWT_SECRET } },
    );
    const token = stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims['role']).toBeUndefined();
    expect(claims).toMatchObject({ sub: 'carol', tid: TENANT, oid: user.externalId, name: 'Carol C' });
    expect(await verifyToken({ secret: JWT_SECRET, issuer: 'warden' }, token)).toEqual({
      sub: 'carol',
      role: 'MEMBER',
      tid: TENANT,
      oid: user.externalId,
      name: 'Carol C',
    });
    const r = await h.gql<MeAnswer>(token, ME);
    expect(r.data!.me).toMatchObject({ subject: 'carol', roles: [], displayName: 'Carol C' });
    expect(r.data!.me.identities).toHaveLength(2);
    const err = await run(TSX, [CLI, '--role', 'VIEWER', '--sub', 'x', '--tid', 'contoso.com'], {
      env: { ...process.env, AUTH_JWT_SECRET: JWT_SECRET },
    }).then(
      () => null,
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stdout).toBe('');
    expect(err?.stderr).toMatch(/--tid must be a GUID/);
  });
});

describe('audit actors', () => {
  it('every row written for a caller carries its subject and, when the token has one, its oid (details.actorOid)', async () => {
    const oid = '0a0a0a0a-0000-4000-8000-00000000a11c';
    const admin = await h.token('SUPER_ADMIN', 'root@contoso', { tid: TENANT, oid });
    const since = Number(
      (
        await h.db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.max('id').as('m'))
          .executeTakeFirstOrThrow()
      ).m ?? 0,
    );
    const created = await h.gql<{ createConnector: { id: string } }>(
      admin,
      'mutation { createConnector(input: { displayName: "Audited", authMethod: CLIENT_SECRET }) { id } }',
    );
    const id = created.data!.createConnector.id;
    expect((await h.gql(admin, 'mutation($id: ID!) { triggerSync(connectorId: $id) { id } }', { id })).errors).toBeUndefined();
    const granted = await h.gql(admin, 'mutation($e: ID!, $p: ID!) { grant(input: { entitlementId: $e, principalId: $p }) { id } }', {
      e: f.bigGroup.memberEntitlementId,
      p: f.users[12]!.id,
    });
    expect(granted.errors).toBeUndefined();
    const member = await h.token('MEMBER', 'm@contoso', { tid: TENANT, oid: user.externalId });
    expect((await h.gql(member, '{ connectors { totalCount } }')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Without an oid (a plain development token), rows are as before.
    const plain = await h.token('SUPER_ADMIN', 'plain');
    expect(
      (await h.gql(plain, 'mutation($id: ID!) { updateConnector(id: $id, input: { displayName: "R" }) { id } }', { id })).errors,
    ).toBeUndefined();

    const rows = await h.db
      .selectFrom('audit_events')
      .select(['actor', 'action', 'details'])
      .where('id', '>', String(since))
      .orderBy('id')
      .execute();
    const by = (action: string) => rows.find((r) => r.action === action)!;
    for (const action of ['connector.created', 'sync.requested', 'grant.requested']) {
      expect(by(action).actor, action).toBe('root@contoso');
      expect((by(action).details as Record<string, unknown>)['actorOid'], action).toBe(oid);
    }
    expect(by('access.denied').actor).toBe('m@contoso');
    expect((by('access.denied').details as Record<string, unknown>)['actorOid']).toBe(user.externalId);
    expect(by('connector.updated').actor).toBe('plain');
    expect(by('connector.updated').details).not.toHaveProperty('actorOid');
  });
});
