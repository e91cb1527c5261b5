import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decideAccessRequest,
  followAccessRequests,
  requestAccess,
  requestTaskKey,
  setAccessPolicy,
  type RequestDeps,
} from '@warden/access-model';
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
    // The write takes 1.5 s in Graph (not the emulator's default 3× a read): it lands before the
    // recovering worker reads the group. A write still in flight when the recovery reads can arrive
    // twice (the second answered "already exists"): RELIABILITY.md says so.
    h.emulator.updateSettings({ latencyMs: 1_500, methodLatencyFactor: { POST: 1 } });
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
      h.emulator.updateSettings({ latencyMs: 0, methodLatencyFactor: { POST: 3 } });
    }
    expect(routeCount('POST /groups/{id}/owners/$ref') - before).toBe(1);
    expect(group(h.emulator.exportTenant(), g.id).owners.filter((o) => o === user)).toHaveLength(1);
  });
});

describe('access requests: SIGKILL during the approved grant and during its expiry revoke', () => {
  const approver = { subject: 'approver-1', oid: null };

  /** A PENDING request of `user` for `key` (one USERS step), approved by approver-1: the grant task exists. */
  async function approvedRequest(key: string, user: string, durationSeconds: number) {
    const deps: RequestDeps = { db: h.tdb.db, bus: h.tbus.bus };
    const entitlementId = await h.entitlementId(key);
    await setAccessPolicy(
      h.tdb.db,
      { subject: 'admin' },
      { connectorId: h.connectorId, entitlementId, requestable: true, steps: [{ kind: 'USERS', subjects: ['approver-1'] }] },
    );
    const r = await requestAccess(
      deps,
      { subject: 'requester-1', oid: null },
      { entitlementId, principalId: await h.resourceId(user), justification: 'crash test', durationSeconds },
    );
    const approved = await decideAccessRequest(deps, r.id, approver, { approved: true });
    expect(approved.status).toBe('APPROVED');
    return { deps, request: approved };
  }

  async function requestAudit(action: string, requestId: string) {
    return h.tdb.db.selectFrom('audit_events').select('id').where('action', '=', action).where(detailsContain({ requestId })).execute();
  }

  it('killed between the Graph write and the commit of the grant: the request becomes ACTIVE once, with one write', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[3]!;
    const user = pickUser(t, g.members, 4);
    const child = await crashingWorker();
    const writesBefore = routeCount('POST /groups/{id}/members/$ref');
    const { deps, request } = await approvedRequest(`GROUP:${g.id}:member`, user, 3_600);
    await waitFor('the failpoint', async () => child.output().includes('holding before commit'));
    await child.kill('SIGKILL');
    // Nothing is ACTIVE while the task is not finished, whoever follows.
    expect(await followAccessRequests(deps)).toBe(0);

    const recovering = await h.startWorker();
    const task = await h.waitForTask(request.provisioning_task_id!, 30_000);
    await recovering.close();
    expect(task).toMatchObject({ status: 'SUCCEEDED', attempt: 2, idempotency_key: requestTaskKey(request.id) });
    // Two followers at once (two governance replicas): one transition.
    expect((await Promise.all([followAccessRequests(deps), followAccessRequests(deps)])).reduce((a, b) => a + b)).toBe(1);
    const row = await h.tdb.db.selectFrom('access_requests').selectAll().where('id', '=', request.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('ACTIVE');
    expect(routeCount('POST /groups/{id}/members/$ref') - writesBefore).toBe(1);
    expect(group(h.emulator.exportTenant(), g.id).members.filter((m) => m === user)).toHaveLength(1);
    expect(
      await h.tdb.db.selectFrom('provisioning_tasks').select('id').where('idempotency_key', '=', requestTaskKey(request.id)).execute(),
    ).toHaveLength(1);
    expect(await requestAudit('access_request.active', request.id)).toHaveLength(1);
  });

  it('killed between the Graph delete and the commit of the expiry revoke: the request becomes EXPIRED once, with one delete', async () => {
    const t = h.emulator.exportTenant();
    const g = writableGroups(t, { unified: false })[4]!;
    const user = pickUser(t, g.members, 6);
    const worker = await h.startWorker();
    const { deps, request } = await approvedRequest(`GROUP:${g.id}:member`, user, 4);
    await h.waitForTask(request.provisioning_task_id!, 30_000);
    await worker.close();
    await followAccessRequests(deps);
    expect(
      (await h.tdb.db.selectFrom('access_requests').select('status').where('id', '=', request.id).executeTakeFirstOrThrow()).status,
    ).toBe('ACTIVE');

    const deletesBefore = routeCount('DELETE /groups/{id}/members/{id}/$ref');
    const child = await crashingWorker();
    await waitFor('the expiry revoke to reach the failpoint', async () => child.output().includes('holding before commit'), 30_000);
    await child.kill('SIGKILL');
    expect(await followAccessRequests(deps)).toBe(0); // the grant row is still there: not revoked yet

    const recovering = await h.startWorker();
    await waitFor('the revoke to commit', async () => {
      const task = await h.tdb.db
        .selectFrom('provisioning_tasks')
        .select('status')
        .where('action', '=', 'REVOKE')
        .where('namespace', '=', 'system')
        .where('entitlement_key', '=', `GROUP:${g.id}:member`)
        .where('principal_external_id', '=', user)
        .executeTakeFirst();
      return task?.status === 'SUCCEEDED';
    });
    await recovering.close();
    expect((await Promise.all([followAccessRequests(deps), followAccessRequests(deps)])).reduce((a, b) => a + b)).toBe(1);
    expect(
      (await h.tdb.db.selectFrom('access_requests').select('status').where('id', '=', request.id).executeTakeFirstOrThrow()).status,
    ).toBe('EXPIRED');
    expect(routeCount('DELETE /groups/{id}/members/{id}/$ref') - deletesBefore).toBe(1);
    expect(group(h.emulator.exportTenant(), g.id).members).not.toContain(user);
    expect(await requestAudit('access_request.expired', request.id)).toHaveLength(1);
  });
});
