import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDependencies, importsOf } from './dependency-rules';

let roots: string[] = [];
afterEach(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});

/** A throwaway repository: `files` maps a path to its content (objects are written as JSON). */
function fixture(files: Record<string, string | object>): string {
  const root = mkdtempSync(join(tmpdir(), 'warden-deps-'));
  roots.push(root);
  const all = { 'package.json': { name: 'fixture', workspaces: ['packages/*', 'apps/*'] }, ...files };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

const pkg = (name: string, dependencies: Record<string, string> = {}, devDependencies: Record<string, string> = {}) => ({
  name,
  version: '0.1.0',
  dependencies,
  devDependencies,
});

describe('check-dependencies', () => {
  it('passes a tree that follows the table', () => {
    const root = fixture({
      'packages/database/package.json': pkg('@warden/database'),
      'packages/database/src/index.ts': `export const x = 1;\n`,
      'packages/access-model/package.json': pkg('@warden/access-model', { '@warden/database': '^0.1.0' }),
      'packages/access-model/src/index.ts': `import { x } from '@warden/database';\nexport const y = x;\n`,
      'apps/gateway/package.json': pkg('@warden/gateway', { '@warden/access-model': '^0.1.0' }, { '@warden/database': '^0.1.0' }),
      'apps/gateway/src/main.ts': `import { y } from '@warden/access-model';\nvoid y;\n`,
      'apps/gateway/test/a.test.ts': `import { createTestDatabase } from '@warden/database/testing';\nvoid createTestDatabase;\n`,
    });
    expect(checkDependencies(root)).toEqual([]);
  });

  it('fails on a forbidden edge, naming the file and the import', () => {
    const root = fixture({
      'packages/database/package.json': pkg('@warden/database', { '@warden/access-model': '^0.1.0' }),
      'packages/database/src/db.ts': `import type { AuditEntry } from '@warden/access-model';\nexport type A = AuditEntry;\n`,
      'packages/access-model/package.json': pkg('@warden/access-model'),
      'packages/access-model/src/index.ts': `export type AuditEntry = string;\n`,
    });
    const problems = checkDependencies(root);
    expect(problems).toContainEqual({
      file: 'packages/database/src/db.ts',
      message: `imports '@warden/access-model': @warden/database sources may not import @warden/access-model`,
    });
    expect(problems).toContainEqual({
      file: 'packages/database/package.json',
      message: 'declares @warden/access-model, which @warden/database may not depend on',
    });
  });

  it('fails when a package imports an app, or uses a test-only package outside its tests', () => {
    const root = fixture({
      'packages/access-model/package.json': pkg('@warden/access-model', { '@warden/gateway': '^0.1.0' }),
      'packages/access-model/src/index.ts': `export { startGateway } from '@warden/gateway';\n`,
      'apps/gateway/package.json': pkg('@warden/gateway', { '@warden/graph-emulator': '^0.1.0' }),
      'apps/gateway/src/index.ts': `export async function startGateway() { await import('@warden/graph-emulator'); }\n`,
      'packages/graph-emulator/package.json': pkg('@warden/graph-emulator'),
    });
    const messages = checkDependencies(root).map((p) => `${p.file}: ${p.message}`);
    expect(messages).toContain(
      `packages/access-model/src/index.ts: imports '@warden/gateway': @warden/access-model sources may not import @warden/gateway`,
    );
    expect(messages).toContain(
      `apps/gateway/src/index.ts: imports '@warden/graph-emulator': @warden/gateway sources may not import @warden/graph-emulator`,
    );
  });

  it('fails on an allowed import the package.json does not declare, and on a relative path into another workspace', () => {
    const root = fixture({
      'packages/database/package.json': pkg('@warden/database'),
      'packages/bus/package.json': pkg('@warden/bus'),
      'packages/bus/src/contracts.ts': `import { SYNC_MODES } from '@warden/database';\nimport { x } from '../../database/src/db';\nvoid SYNC_MODES; void x;\n`,
      'packages/legacy/package.json': pkg('@warden/legacy'),
    });
    expect(checkDependencies(root)).toEqual([
      {
        file: 'packages/bus/src/contracts.ts',
        message: `imports '@warden/database' but @warden/bus does not declare @warden/database in its package.json dependencies`,
      },
      {
        file: 'packages/bus/src/contracts.ts',
        message: `imports '../../database/src/db', a path outside @warden/bus; import the package instead`,
      },
      {
        file: 'packages/legacy/package.json',
        message: '@warden/legacy has no entry in the allowed-edges table (scripts/dependency-rules.ts)',
      },
    ]);
  });

  it('reads static, type-only, re-export, side-effect and dynamic imports, and ignores comments', () => {
    const text = [
      `import type { A } from '@warden/a';`,
      `import {\n  B,\n} from "@warden/b/testing";`,
      `export * from '@warden/c';`,
      `import '@warden/d';`,
      `const e = await import('@warden/e');`,
      `// import { z } from '@warden/commented';`,
      `/* import { y } from '@warden/blocked'; */`,
    ].join('\n');
    expect(importsOf(text)).toEqual(['@warden/a', '@warden/b/testing', '@warden/c', '@warden/d', '@warden/e']);
  });

  it('passes on this repository', () => {
    expect(checkDependencies(fileURLToPath(new URL('..', import.meta.url)))).toEqual([]);
  });
});
