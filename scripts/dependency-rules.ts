/**
 * Which workspace may import which @warden package, in one table, and the check that enforces it
 * (`npm run -s check:deps`, part of `npm test`). The direction is one way:
 *
 *   apps ──▶ access-model ──▶ bus ──▶ database
 *     │            ├───────────────────▶ database
 *     │            └──▶ notifications ──▶ database
 *     ├──▶ connector-client ──▶ graph-core, service-kit, database
 *     └──▶ database, bus, service-kit, graph-core, notifications   (graph-emulator: tests only)
 *
 * database, service-kit, graph-core and graph-emulator import no other @warden package; bus imports
 * only database (its contracts reuse the tables' value lists); connector-client (a connector's
 * credentials → a Graph client) imports graph-core, service-kit and database; notifications (the
 * outbox and its channels) imports only database, so a workflow can enqueue inside its own
 * transaction from access-model, the gateway or a worker. No package imports an app.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface Edges {
  /** @warden packages that src/ (and top-level *.ts) may import. */
  src: readonly string[];
  /** Additional @warden packages that test/ may import. */
  test?: readonly string[];
}

/** A workspace's own name maps to what it may import. A workspace missing here fails the check. */
export type Rules = Readonly<Record<string, Edges | 'any'>>;

const TEST_ONLY = ['@warden/graph-emulator'];
const APP_MAY_USE = [
  '@warden/access-model',
  '@warden/database',
  '@warden/bus',
  '@warden/service-kit',
  '@warden/graph-core',
  '@warden/connector-client',
  '@warden/notifications',
];

export const RULES: Rules = {
  '@warden/database': { src: [] },
  '@warden/bus': { src: ['@warden/database'] },
  '@warden/service-kit': { src: [] },
  '@warden/access-model': { src: ['@warden/database', '@warden/bus', '@warden/notifications'] },
  '@warden/notifications': { src: ['@warden/database'] },
  '@warden/graph-core': { src: [], test: TEST_ONLY },
  '@warden/graph-emulator': { src: [] },
  '@warden/connector-client': { src: ['@warden/graph-core', '@warden/service-kit', '@warden/database'], test: TEST_ONLY },
  '@warden/gateway': { src: APP_MAY_USE, test: TEST_ONLY },
  // The sync's addition guard exists for provisioning's write-through: its race test runs the real
  // provision worker against the same emulator (test/revoke-race.test.ts), never from src/.
  '@warden/sync-worker': { src: APP_MAY_USE, test: [...TEST_ONLY, '@warden/provision-worker'] },
  '@warden/provision-worker': { src: APP_MAY_USE, test: TEST_ONLY },
  '@warden/governance-worker': { src: APP_MAY_USE, test: TEST_ONLY },
  // End-to-end tests start every service.
  '@warden/e2e': 'any',
  // The console talks to the gateway over HTTP only; its browser tests start the real system.
  '@warden/web': {
    src: [],
    test: [
      '@warden/database',
      '@warden/gateway',
      '@warden/graph-emulator',
      '@warden/sync-worker',
      '@warden/provision-worker',
      '@warden/governance-worker',
    ],
  },
  // The chaos suite runs every service as a process, the emulator in-process, and checks exactness
  // with the sync worker's own comparison (@warden/sync-worker/testing).
  '@warden/chaos': { src: ['@warden/bus', '@warden/database', '@warden/graph-emulator', '@warden/sync-worker'] },
};

/** bench/ and scripts/ at the root are tooling: they may import any workspace (not checked for declarations). */
export const ROOT_DIRS = ['scripts', 'bench'];

export interface Problem {
  file: string;
  message: string;
}

interface Workspace {
  name: string;
  dir: string;
  declared: { dependencies: Set<string>; devDependencies: Set<string> };
}

const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"\n]+)['"]/g;

/** Every module specifier a source file imports, exports from, or loads dynamically. */
export function importsOf(text: string): string[] {
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...withoutComments.matchAll(SPECIFIER)].map((m) => m[1]!);
}

function packageOf(specifier: string): string {
  return specifier.split('/').slice(0, 2).join('/');
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function workspaces(root: string): Workspace[] {
  const patterns = (readJson(join(root, 'package.json')).workspaces ?? []) as string[];
  const dirs = patterns.flatMap((p) => {
    if (!p.endsWith('/*')) return [join(root, p)];
    const parent = join(root, p.slice(0, -2));
    return existsSync(parent) ? readdirSync(parent).map((d) => join(parent, d)) : [];
  });
  return dirs
    .filter((d) => existsSync(join(d, 'package.json')))
    .map((dir) => {
      const pkg = readJson(join(dir, 'package.json'));
      const keys = (field: string) => new Set(Object.keys((pkg[field] ?? {}) as Record<string, string>));
      return { name: String(pkg.name), dir, declared: { dependencies: keys('dependencies'), devDependencies: keys('devDependencies') } };
    });
}

/** All violations under `root` (a directory with a workspaces package.json), given the rules. */
export function checkDependencies(root: string, rules: Rules = RULES): Problem[] {
  const problems: Problem[] = [];
  const all = workspaces(root);
  const names = new Set(all.map((w) => w.name));
  const rel = (path: string) => relative(root, path).split(sep).join('/');

  for (const ws of all) {
    const rule = rules[ws.name];
    if (!rule) {
      problems.push({
        file: rel(join(ws.dir, 'package.json')),
        message: `${ws.name} has no entry in the allowed-edges table (scripts/dependency-rules.ts)`,
      });
      continue;
    }
    const allowedIn = (inTest: boolean) => (rule === 'any' ? [...names] : inTest ? [...rule.src, ...(rule.test ?? [])] : [...rule.src]);

    for (const dep of [...ws.declared.dependencies, ...ws.declared.devDependencies]) {
      if (names.has(dep) && dep !== ws.name && !allowedIn(true).includes(dep)) {
        problems.push({ file: rel(join(ws.dir, 'package.json')), message: `declares ${dep}, which ${ws.name} may not depend on` });
      }
    }

    const topLevel = readdirSync(ws.dir)
      .filter((f) => SOURCE.test(f))
      .map((f) => join(ws.dir, f));
    const files = [...topLevel, ...sourceFiles(join(ws.dir, 'src')), ...sourceFiles(join(ws.dir, 'test'))];
    for (const file of files) {
      const inTest = file.startsWith(join(ws.dir, 'test') + sep);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (target !== ws.dir && !target.startsWith(ws.dir + sep)) {
            problems.push({ file: rel(file), message: `imports '${spec}', a path outside ${ws.name}; import the package instead` });
          }
          continue;
        }
        if (!spec.startsWith('@warden/')) continue;
        const dep = packageOf(spec);
        if (dep === ws.name) continue;
        if (!allowedIn(inTest).includes(dep)) {
          const where = inTest ? 'tests' : 'sources';
          problems.push({ file: rel(file), message: `imports '${spec}': ${ws.name} ${where} may not import ${dep}` });
        } else if (!ws.declared.dependencies.has(dep) && !(inTest && ws.declared.devDependencies.has(dep))) {
          const field = inTest ? 'dependencies or devDependencies' : 'dependencies';
          problems.push({
            file: rel(file),
            message: `imports '${spec}' but ${ws.name} does not declare ${dep} in its package.json ${field}`,
          });
        }
      }
    }
  }

  for (const dir of ROOT_DIRS) {
    for (const file of sourceFiles(join(root, dir))) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('@warden/') && !names.has(packageOf(spec))) {
          problems.push({ file: rel(file), message: `imports '${spec}', which is not a workspace` });
        }
      }
    }
  }
  return problems;
}
