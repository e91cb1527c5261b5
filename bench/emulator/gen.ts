// Tenant generation time and memory per size: `node --expose-gc --import tsx bench/emulator/gen.ts L`
import { generateApps } from '../../packages/graph-emulator/src/identity/apps';
import { generateTenant } from '../../packages/graph-emulator/src/tenant/generate';
import { resolveCounts } from '../../packages/graph-emulator/src/tenant/sizes';

const size = (process.argv[2] ?? 'L') as 'S' | 'M' | 'L' | 'XL';
const base = process.memoryUsage().rss;
const t0 = performance.now();
const { dir } = generateTenant(resolveCounts(size), 1, generateApps(1));
const ms = performance.now() - t0;
(globalThis as { gc?: () => void }).gc?.();
const mem = process.memoryUsage();
console.log(
  JSON.stringify({
    size,
    generateMs: Math.round(ms),
    users: dir.users.size,
    groups: dir.groups.size,
    memberships: dir.groupMembers.totalLinks,
    servicePrincipals: dir.servicePrincipals.size,
    appRoleAssignments: dir.appRoleAssignments.size,
    roleAssignments: dir.roleAssignments.size,
    heapUsedMB: Math.round(mem.heapUsed / 1e6),
    rssMB: Math.round(mem.rss / 1e6),
    rssBeforeMB: Math.round(base / 1e6),
  }),
);
