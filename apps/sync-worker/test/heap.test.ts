import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SYNC_WORKER_HEAP_MB, SYNC_WORKER_NODE_FLAGS } from '../src/heap';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const read = (p: string) => readFileSync(path.resolve(HERE, p), 'utf8');

// The heap budget is what keeps an L full sync under 500 MB of RSS (README, "Memory"); every way the
// deployable is started must carry it, or that start runs with V8's default of a quarter of the machine.
describe('the worker heap budget', () => {
  const flag = `--max-old-space-size=${SYNC_WORKER_HEAP_MB}`;

  it('is one flag, used by npm start (root and workspace) and by docker compose', () => {
    expect(SYNC_WORKER_NODE_FLAGS).toEqual([flag]);
    const pkg = JSON.parse(read('../package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start']).toBe(`node ${flag} --import tsx src/main.ts`);
    const compose = read('../../../docker-compose.yml');
    const line = compose.split('\n').find((l) => l.includes('apps/sync-worker/src/main.ts'));
    expect(line).toContain(`["node", "${flag}", "--import", "tsx", "apps/sync-worker/src/main.ts"]`);
    // The root `npm start` spawns the worker through tsx and hands it the flags in NODE_OPTIONS.
    const start = read('../../../scripts/start.ts');
    const spawn = start.slice(start.indexOf("spawnService('sync-worker'"));
    expect(spawn.slice(0, spawn.indexOf('}),'))).toContain('...SYNC_WORKER_NODE_FLAGS');
  });
});
