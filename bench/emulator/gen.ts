// Generation time and memory per size: `npx tsx bench/emulator/gen.ts L`
import { EmulatorCore } from '../../packages/graph-emulator/src/core';
import pino from 'pino';
const size = (process.argv[2] ?? 'L') as 'S' | 'M' | 'L' | 'XL';
const t0 = performance.now();
const core = new EmulatorCore({ size, seed: 1, logger: pino({ level: 'silent' }) });
const ms = performance.now() - t0;
global.gc?.();
const mem = process.memoryUsage();
console.log(JSON.stringify({ size, generateMs: Math.round(ms), users: core.dir.users.size, groups: core.dir.groups.size,
  memberships: core.dir.groupMembers.totalLinks, servicePrincipals: core.dir.servicePrincipals.size,
  appRoleAssignments: core.dir.appRoleAssignments.size, heapUsedMB: Math.round(mem.heapUsed / 1e6), rssMB: Math.round(mem.rss / 1e6) }));
