import { describe, expect, it } from 'vitest';
import { SIZE_COUNTS, startEmulator } from '../src/index';

describe('tenant generator', () => {
  it('generates the same tenant (ids included) for the same size and seed, another for another seed', async () => {
    const [a, b, c] = await Promise.all([
      startEmulator({ size: 'S', seed: 9 }),
      startEmulator({ size: 'S', seed: 9 }),
      startEmulator({ size: 'S', seed: 10 }),
    ]);
    try {
      expect(a.config.tenantId).toBe(b.config.tenantId);
      expect(a.config.apps.map((x) => [x.clientId, x.clientSecret])).toEqual(b.config.apps.map((x) => [x.clientId, x.clientSecret]));
      expect(a.exportTenant()).toEqual(b.exportTenant());
      // Administrative units and app registrations: deterministic, and every scoped assignment points at one of them.
      const ex = a.exportTenant();
      const units = new Set(ex.administrativeUnits.map((u) => `/administrativeUnits/${String(u['id'])}`));
      expect(units.size).toBeGreaterThanOrEqual(2);
      const apps = new Set(ex.applications.map((x) => `/${String(x['id'])}`));
      expect(apps.size).toBeGreaterThan(0);
      // Only apps registered in this tenant have a registration, each for one enterprise application.
      const homeSps = ex.servicePrincipals.filter(
        (sp) => sp['servicePrincipalType'] === 'Application' && sp['appOwnerOrganizationId'] === ex.tenantId,
      );
      expect(ex.applications.map((x) => x['appId']).sort()).toEqual(homeSps.map((sp) => sp['appId']).sort());
      const scoped = ex.roleAssignments.filter((r) => r['directoryScopeId'] !== '/');
      expect(scoped.filter((r) => units.has(String(r['directoryScopeId']))).length).toBeGreaterThan(0);
      expect(scoped.filter((r) => apps.has(String(r['directoryScopeId']))).length).toBeGreaterThan(0);
      for (const r of scoped) expect(units.has(String(r['directoryScopeId'])) || apps.has(String(r['directoryScopeId']))).toBe(true);
      expect(new Set(ex.roleAssignments.map((r) => r['id'])).size).toBe(ex.roleAssignments.length);
      expect(c.exportTenant().users[0]?.['id']).not.toBe(a.exportTenant().users[0]?.['id']);
      expect(a.mutate(30, 1)).toEqual(b.mutate(30, 1));
      // Changes carry wall-clock timestamps; everything else must match.
      const noTimes = (x: unknown) => JSON.stringify(x).replace(/"\d{4}-\d\d-\d\dT[\d:.]+Z"/g, '"T"');
      expect(noTimes(a.exportTenant())).toBe(noTimes(b.exportTenant()));
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('builds size M with the documented shape', async () => {
    const m = await startEmulator({ size: 'M', seed: 1 });
    try {
      const ex = m.exportTenant();
      expect(ex.users).toHaveLength(SIZE_COUNTS.M.users);
      expect(ex.groups).toHaveLength(SIZE_COUNTS.M.groups);
      const guests = ex.users.filter((u) => u['userType'] === 'Guest').length / ex.users.length;
      const disabled = ex.users.filter((u) => u['accountEnabled'] === false).length / ex.users.length;
      expect(guests).toBeGreaterThan(0.035);
      expect(guests).toBeLessThan(0.065);
      expect(disabled).toBeGreaterThan(0.015);
      expect(disabled).toBeLessThan(0.045);
      const synced = ex.groups.filter((g) => g['onPremisesSyncEnabled'] === true).length / ex.groups.length;
      expect(synced).toBeGreaterThan(0.06);
      expect(synced).toBeLessThan(0.14);
      const memberships = ex.groups.reduce((s, g) => s + g.members.length, 0);
      expect(memberships).toBeGreaterThan(SIZE_COUNTS.M.memberships * 0.8);
      expect(memberships).toBeLessThan(SIZE_COUNTS.M.memberships * 1.2);
      expect(ex.appRoleAssignments.length).toBeGreaterThan(SIZE_COUNTS.M.appRoleAssignments * 0.9);
      const principalTypes = new Set(ex.appRoleAssignments.map((a) => a['principalType']));
      expect(principalTypes).toEqual(new Set(['User', 'Group', 'ServicePrincipal']));
      expect(ex.servicePrincipals.filter((s) => s['servicePrincipalType'] === 'ManagedIdentity')).toHaveLength(
        SIZE_COUNTS.M.managedIdentities,
      );
      expect(ex.roleEligibilitySchedules.length).toBe(SIZE_COUNTS.M.roleEligibilitySchedules);
      expect(ex.groups.filter((g) => g.owners.length > 0).length).toBeGreaterThan(ex.groups.length * 0.7);
      expect(ex.servicePrincipals.filter((s) => s.owners.length > 0).length).toBeGreaterThan(0);
    } finally {
      await m.close();
    }
  });

  it('honours explicit counts, including groups over 10k members', async () => {
    const e = await startEmulator({
      size: 'S',
      seed: 2,
      counts: { users: 12_000, groups: 20, memberships: 30_000, largeGroups: 1, appRoleAssignments: 50 },
    });
    try {
      const ex = e.exportTenant();
      expect(ex.users).toHaveLength(12_000);
      expect(ex.groups.filter((g) => g.members.length > 10_000)).toHaveLength(1);
    } finally {
      await e.close();
    }
  });
});
