import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailsContain } from './support/audit';
import { createHarness, waitFor, type Harness } from './support/harness';
import { spawnWorker, type ChildWorker } from './support/child';
import { appRoleAssignment, enterpriseApps, group, pickUser, writableGroups } from './support/tenant';

let h: Harness;
const children: ChildWorker[] = [];

beforeAll(async () => {
  h = await createHarness({ seed: 23 });
});
afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null) await c.kill('SIGKILL');
  await h?.close();
});

/** A worker process that stops between Graph's answer and the commit, the window a crash can hit. */
async function crashingWorker(): Promise<ChildWorker> {
  const child = spawnWorker(h.env({ LOG_LEVEL: 'info', PROVISION_TEST_HOLD_BEFORE_COMMIT_MS: '60000' }));
  children.push(child);
  await child.ready;
  return child;
}

/** Requests the emulator answered on one route, any status (a repeated write would count here). */
function routeCount(route: string): number {
  return Object.values(h.emulator.stats().byRoute[route] ?? {}).reduce((a, b) => a + b, 0);
}

async function auditOutcome(taskId: string) {
  return h.tdb.db
    .selectFrom('audit_events')
    .selectAll()
    .where('action', 'in', ['grant.succeeded', 'grant.failed'])
    .where(detailsContain({ taskId }))
    .execute();
}

describe('SIGKILL between the Graph write and the commit', () => {
  it('group membership: the redelivered task finds the write done and makes no second one', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[0]!;
    const user = pickUser(t, g.members);
    const key = `GROUP:${g.id}:member`;
    const child = await crashingWorker();
    const writesBefore = routeCount('POST /groups/{id}/members/$ref');

    const task = await h.request({ action: 'GRANT', entitlementKey: key, principal: user });
    await waitFor('Graph to apply the membership', async () => group(h.emulator.exportTenant(), g.id).members.includes(user));
    await waitFor('the failpoint', async () => child.output().includes('holding before commit'));
    await child.kill('SIGKILL');
    const orphan = await h.tdb.db.selectFrom('provisioning_tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
    expect(orphan).toMatchObject({ status: 'RUNNING', attempt: 1 });

    const recovering = await h.startWorker();
    const done = await h.waitForTask(task.id, 30_000);
    await recovering.close();
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2 });
    expect(routeCount('POST /groups/{id}/members/$ref') - writesBefore).toBe(1);
    expect(group(h.emulator.exportTenant(), g.id).members.filter((m) => m === user)).toHaveLength(1);
    const grant = await h.tdb.db
      .selectFrom('grants')
      .selectAll()
      .where('entitlement_key', '=', key)
      .where('principal_external_id', '=', user)
      .where('direct', '=', true)
      .execute();
    expect(grant).toHaveLength(1);
    const outcome = await auditOutcome(task.id);
    expect(outcome).toHaveLength(1);
    expect(outcome[0]!.details).toMatchObject({ effect: 'unchanged', recoveredAfterCrash: true, attempt: 2 });
  });

  it('app role assignment: the recovered task still records the assignment id needed to revoke', async () => {
    const t = h.emulator.exportTenant();
    const app = enterpriseApps(t)[2]!;
    const appId = String(app.id);
    const user = pickUser(
      t,
      (t.appRoleAssignments as { resourceId: string; principalId: string }[])
        .filter((a) => a.resourceId === appId)
        .map((a) => a.principalId),
      4,
    );
    const key = `ENTERPRISE_APPLICATION:${appId}:assigned`;
    const child = await crashingWorker();
    const writesBefore = routeCount('POST /servicePrincipals/{id}/appRoleAssignedTo');

    const task = await h.request({ action: 'GRANT', entitlementKey: key, principal: user });
    const created = await waitFor('Graph to create the assignment', async () =>
      appRoleAssignment(h.emulator.exportTenant(), appId, user, '00000000-0000-0000-0000-000000000000'),
    );
    await waitFor('the failpoint', async () => child.output().includes('holding before commit'));
    await child.kill('SIGKILL');

    const recovering = await h.startWorker();
    const done = await h.waitForTask(task.id, 30_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(routeCount('POST /servicePrincipals/{id}/appRoleAssignedTo') - writesBefore).toBe(1);
    const assignments = (h.emulator.exportTenant().appRoleAssignments as { resourceId: string; principalId: string }[]).filter(
      (a) => a.resourceId === appId && a.principalId === user,
    );
    expect(assignments).toHaveLength(1);
    const grant = await h.tdb.db
      .selectFrom('grants')
      .selectAll()
      .where('entitlement_key', '=', key)
      .where('principal_external_id', '=', user)
      .where('direct', '=', true)
      .executeTakeFirstOrThrow();
    expect(grant.graph_assignment_id).toBe(created.id);

    // and the revoke uses it: one DELETE, assignment gone
    const revoke = await h.request({ action: 'REVOKE', entitlementKey: key, principal: user });
    expect((await h.waitForTask(revoke.id)).status).toBe('SUCCEEDED');
    expect(appRoleAssignment(h.emulator.exportTenant(), appId, user, '00000000-0000-0000-0000-000000000000')).toBeUndefined();
    await recovering.close();
  });

  it('group ownership: killed while the Graph call is in flight, the tenant still sees exactly one write', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t).find((x) => x.owners.length > 0)!;
    const user = pickUser(t, g.owners, 9);
    const key = `GROUP:${g.id}:owner`;
    const child = spawnWorker(h.env({ LOG_LEVEL: 'info' }));
    children.push(child);
    await child.ready;
    h.emulator.updateSettings({ latencyMs: 1_500 });
    const before = routeCount('POST /groups/{id}/owners/$ref');
    try {
      const task = await h.request({ action: 'GRANT', entitlementKey: key, principal: user });
      await waitFor(
        'the task to start',
        async () =>
          (await h.tdb.db.selectFrom('provisioning_tasks').select('status').where('id', '=', task.id).executeTakeFirstOrThrow()).status ===
          'RUNNING',
      );
      await new Promise((r) => setTimeout(r, 300));
      await child.kill('SIGKILL');
      const recovering = await h.startWorker();
      const done = await h.waitForTask(task.id, 30_000);
      await recovering.close();
      expect(done).toMatchObject({ status: 'SUCCEEDED' });
      expect(done.attempt).toBeGreaterThanOrEqual(2);
    } finally {
      h.emulator.updateSettings({ latencyMs: 0 });
    }
    expect(routeCount('POST /groups/{id}/owners/$ref') - before).toBe(1);
    expect(group(h.emulator.exportTenant(), g.id).owners.filter((o) => o === user)).toHaveLength(1);
  });
});
