// Time of POST /_emulator/mutate-equivalent changes: `node --import tsx bench/emulator/mutate.ts L 1000`
import pino from 'pino';
import { EmulatorCore } from '../../packages/graph-emulator/src/core';
import { mutateTenant } from '../../packages/graph-emulator/src/tenant/mutate';

const size = (process.argv[2] ?? 'L') as 'S' | 'M' | 'L' | 'XL';
const n = Number(process.argv[3] ?? 1000);
const core = new EmulatorCore({ size, seed: 1, logger: pino({ level: 'silent' }) });
const runs: number[] = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  mutateTenant(core, n, i + 1);
  runs.push(Math.round(performance.now() - t));
}
console.log(JSON.stringify({ size, changes: n, msPerRun: runs }));
