import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startSystem, type System } from './system';

/**
 * Access reviews end to end: gateway, governance worker (dueAt timer, remediation, verification),
 * provision worker (revokes in the emulator), sync worker (the regrant seen by the next sync), with
 * tokens for different people linked to synced users by tid/oid.
 */
let sys: System;
let connectorId: string;
let tenantId: string;
type U = {
  id: string;
  managerId: string | null;
  accountEnabled: boolean;
  userType: string;
  signInActivity: { lastSignInDateTime: string | null } | null;
};

const DAY = 86_400_000;
const recent = (u: U) => {
  const t = u.signInActivity?.lastSignInDateTime;
  return typeof t === 'string' && Date.now() - Date.parse(t) < 20 * DAY;
};

async function waitTask(id: string) {
  return eventually(
    async () => {
      const t = await sys.gql<{ provisioningTask: { status: string; error: string | null } }>(
        `query($id: ID!) { provisioningTask(id: $id) { status error } }`,
        { id },
      );
      return ['SUCCEEDED', 'FAILED'].includes(t.provisioningTask.status) ? t.provisioningTask : undefined;
    },
    60_000,
    'a provisioning task',
  );
}

async function fullSync(): Promise<void> {
  const queued = await sys.gql<{ triggerSync: { id: string } }>(`mutation($id: ID!) { triggerSync(connectorId: $id, mode: FULL) { id } }`, {
    id: connectorId,
  });
  const run = await eventually(
    async () => {
      const r = await sys.gql<{ syncRun: { status: string; error: string | null } }>(
        `query($id: ID!) { syncRun(id: $id) { status error } }`,
        { id: queued.triggerSync.id },
      );
      return ['SUCCEEDED', 'FAILED'].includes(r.syncRun.status) ? r.syncRun : undefined;
    },
    120_000,
    'a full sync',
  );
  expect(run).toEqual({ status: 'SUCCEEDED', error: null });
}

async function resourceId(externalId: string): Promise<string> {
  const r = await sys.database.db
    .selectFrom('resources')
    .select('id')
    .where('connector_id', '=', connectorId)
    .where('external_id', '=', externalId)
    .executeTakeFirstOrThrow();
  return r.id;
}

beforeAll(async () => {
  sys = await startSystem();
  tenantId = sys.emulator.config.tenantId;
  const app = sys.emulator.app('provisioning');
  const created = await sys.gql<{ createConnector: { id: string } }>(
    `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`,
    {
      input: {
        displayName: 'Reviews tenant',
        authMethod: 'CLIENT_SECRET',
        tenantId,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        graphBaseUrl: sys.emulator.config.baseUrl,
        authorityHost: sys.emulator.config.authorityHost,
      },
    },
  );
  connectorId = created.createConnector.id;
  await fullSync();
});
afterAll(async () => sys?.stop());

describe('an access review of a group, end to end', () => {
  const ITEMS = `query($id: ID!) { accessReview(id: $id) { status progress { total decided kept revoked remediated remediationFailed regranted }
    items(first: 500) { totalCount edges { node { id principal { externalId } recommendation recommendationReason decision decidedBy regrantedAt remediation { status } } } } } }`;
  type Item = {
    id: string;
    principal: { externalId: string };
    recommendation: string | null;
    recommendationReason: string | null;
    decision: string | null;
    decidedBy: string | null;
    regrantedAt: string | null;
    remediation: { status: string } | null;
  };
  type Review = {
    status: string;
    progress: Record<string, number>;
    items: { totalCount: number; edges: { node: Item }[] };
  };
  const review = async (id: string) => (await sys.gql<{ accessReview: Review }>(ITEMS, { id })).accessReview;
  const itemOf = (r: Review, externalId: string) => r.items.edges.map((e) => e.node).find((n) => n.principal.externalId === externalId)!;

  it('MANAGER reviewers keep and revoke, recommendations explain themselves, dueAt applies the rest, revokes reach the tenant, the CSV has every item and a regrant is flagged', async () => {
    const truth = sys.emulator.exportTenant();
    const users = truth.users as unknown as U[];
    const members = users.filter((u) => u.userType === 'Member');
    // A manager with two enabled, recently active reports; a disabled user and a stale one outside the manager's team.
    const byManager = new Map<string, U[]>();
    for (const u of members)
      if (u.managerId && u.accountEnabled && recent(u)) byManager.set(u.managerId, [...(byManager.get(u.managerId) ?? []), u]);
    const [managerId, reports] = [...byManager.entries()].find(
      ([m, r]) => r.length >= 2 && members.find((x) => x.id === m)?.accountEnabled,
    )!;
    const [r1, r2] = reports as [U, U];
    const disabled = members.find((u) => !u.accountEnabled && u.managerId !== managerId && u.id !== managerId)!;
    const stale = members.find(
      (u) =>
        u.accountEnabled &&
        u.managerId !== managerId &&
        u.id !== managerId &&
        !recent(u) &&
        (u.signInActivity === null || u.signInActivity.lastSignInDateTime !== null),
    )!;
    expect([r1, r2, disabled, stale].every(Boolean)).toBe(true);
    const group = truth.groups
      .filter(
        (g) =>
          g.onPremisesSyncEnabled !== true &&
          !(g.groupTypes as string[] | undefined)?.includes('DynamicMembership') &&
          g.mailEnabled !== true,
      )
      .sort((a, b) => a.members.length - b.members.length)[0]!;
    const entitlement = await sys.database.db
      .selectFrom('entitlements')
      .select('id')
      .where('connector_id', '=', connectorId)
      .where('key', '=', `GROUP:${group.id}:member`)
      .executeTakeFirstOrThrow();

    // The people under review join the group through Warden.
    for (const u of [r1, r2, disabled, stale].filter((x) => !group.members.includes(x.id))) {
      const t = await sys.gql<{ grant: { id: string } }>(`mutation($i: GrantInput!) { grant(input: $i) { id } }`, {
        i: { entitlementId: entitlement.id, principalId: await resourceId(u.id), reason: 'e2e review setup' },
      });
      expect(await waitTask(t.grant.id)).toEqual({ status: 'SUCCEEDED', error: null });
    }

    const created = await sys.gql<{ createAccessReview: { id: string; status: string } }>(
      `mutation($input: AccessReviewInput!) { createAccessReview(input: $input) { id status } }`,
      {
        input: {
          name: 'E2E group review',
          connectorId,
          entitlementIds: [entitlement.id],
          reviewers: 'MANAGER',
          fallbackSubjects: ['e2e-fallback'],
          dueAt: new Date(Date.now() + 3_600_000).toISOString(),
          undecided: 'RECOMMENDATION',
          inactiveDays: 30,
        },
      },
    );
    const id = created.createAccessReview.id;
    expect(created.createAccessReview.status).toBe('ACTIVE');
    let r = await review(id);
    expect(r.items.totalCount).toBeGreaterThanOrEqual(4);
    expect(itemOf(r, disabled.id)).toMatchObject({ recommendation: 'REVOKE' });
    expect(itemOf(r, disabled.id).recommendationReason).toContain('account disabled');
    expect(itemOf(r, stale.id)).toMatchObject({ recommendation: 'REVOKE' });
    expect(itemOf(r, stale.id).recommendationReason).toMatch(/no sign-in for \d+ days|never signed in/);

    // The manager signs in (tid/oid) and sees its queue.
    const manager = await sys.tokenFor('MEMBER', 'manager-sub', { tid: tenantId, oid: managerId });
    const queue = await sys.gqlAs<{ myReviewItems: { edges: { node: { id: string; principal: { externalId: string } } }[] } }>(
      manager,
      `{ myReviewItems(first: 100) { edges { node { id principal { externalId } } } } }`,
    );
    const queued = queue.data!.myReviewItems.edges.map((e) => e.node.principal.externalId);
    expect(queued).toEqual(expect.arrayContaining([r1.id, r2.id]));
    expect(queued).not.toContain(disabled.id);
    const DECIDE = `mutation($ids: [ID!]!, $d: ReviewDecision!) { decideReviewItems(itemIds: $ids, decision: $d) { id decision } }`;
    expect((await sys.gqlAs(manager, DECIDE, { ids: [itemOf(r, r1.id).id], d: 'KEEP' })).errors).toBeUndefined();
    expect((await sys.gqlAs(manager, DECIDE, { ids: [itemOf(r, r2.id).id], d: 'REVOKE' })).errors).toBeUndefined();
    // Not the manager's item; and nobody decides their own access, not even an admin.
    expect((await sys.gqlAs(manager, DECIDE, { ids: [itemOf(r, disabled.id).id], d: 'KEEP' })).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    const selfAdmin = await sys.tokenFor('SUPER_ADMIN', 'r1-admin', { tid: tenantId, oid: r1.id });
    const self = await sys.gqlAs(selfAdmin, DECIDE, { ids: [itemOf(r, r1.id).id], d: 'REVOKE' });
    expect(self.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(self.errors?.[0]?.message).toMatch(/own access/);
    // A member who reviews nothing here reads nothing.
    const stranger = await sys.tokenFor('MEMBER', 'stranger', { tid: tenantId, oid: disabled.id });
    expect((await sys.gqlAs(stranger, `query($id: ID!) { accessReview(id: $id) { id } }`, { id })).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );

    // dueAt passes: the governance worker completes it, applies the recommendation to the rest and revokes.
    await sql`UPDATE access_reviews SET due_at = now() - interval '1 second' WHERE id = ${id}`.execute(sys.database.db);
    r = await eventually(
      async () => {
        const now = await review(id);
        return now.status === 'COMPLETED' ? now : undefined;
      },
      90_000,
      'the review to complete and its revokes to finish',
    );
    expect(itemOf(r, r1.id)).toMatchObject({ decision: 'KEEP', decidedBy: 'manager-sub', remediation: null });
    expect(itemOf(r, r2.id)).toMatchObject({ decision: 'REVOKE', decidedBy: 'manager-sub', remediation: { status: 'SUCCEEDED' } });
    expect(itemOf(r, disabled.id)).toMatchObject({ decision: 'REVOKE', decidedBy: 'system', remediation: { status: 'SUCCEEDED' } });
    expect(itemOf(r, stale.id)).toMatchObject({ decision: 'REVOKE', decidedBy: 'system', remediation: { status: 'SUCCEEDED' } });
    expect(r.progress.decided).toBe(r.progress.total);
    expect(r.progress.remediated).toBe(r.progress.revoked);
    expect(r.progress.remediationFailed).toBe(0);
    const inTenant = sys.emulator.exportTenant().groups.find((g) => g.id === group.id)!.members;
    expect(inTenant).toContain(r1.id);
    for (const gone of [r2.id, disabled.id, stale.id]) expect(inTenant).not.toContain(gone);

    // The evidence: one line per item.
    const res = await fetch(new URL(`/exports/access-reviews/${id}.csv`, sys.gateway.url), {
      headers: { authorization: `Bearer ${sys.token}` },
    });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trim().split('\n');
    expect(lines).toHaveLength(r.items.totalCount + 1);
    expect(lines.find((l) => l.split(',')[3] === r2.id)).toMatch(/,REVOKE,manager-sub,.*,SUCCEEDED,/);

    // Someone re-adds r2 in Entra; the next sync brings it back and the review flags it.
    const app = sys.emulator.app('provisioning');
    const tokenRes = await fetch(`${sys.emulator.config.authorityHost}/${tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: app.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      }),
    });
    const graphToken = ((await tokenRes.json()) as { access_token: string }).access_token;
    const add = await fetch(`${sys.emulator.config.baseUrl}/v1.0/groups/${group.id}/members/$ref`, {
      method: 'POST',
      headers: { authorization: `Bearer ${graphToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${r2.id}` }),
    });
    expect(add.status).toBe(204);
    await fullSync();
    const flagged = await eventually(
      async () => {
        const now = await review(id);
        return itemOf(now, r2.id).regrantedAt ? now : undefined;
      },
      30_000,
      'the regrant to be flagged',
    );
    expect(flagged.progress.regranted).toBe(1);
    expect(itemOf(flagged, disabled.id).regrantedAt).toBeNull();
    const audit = await sys.database.db
      .selectFrom('audit_events')
      .select(['details'])
      .where('action', '=', 'access_review.regrant_detected')
      .execute();
    expect(audit.map((a) => a.details['principalExternalId'])).toEqual([r2.id]);
  });
});
