import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = path.resolve(here, '../../../node_modules/.bin/tsx');

/**
 * Starts test/stack.ts (the real system) once for all browser tests and hands its description to them
 * in WARDEN_WEB_STACK; the returned function stops it (it also stops when its stdin closes).
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const ca = execFileSync(tsx, [path.join(here, 'ca.ts')], { encoding: 'utf8' }).trim();
  // The gateway's own compiler options (decorators), as when it runs on its own.
  const child = spawn(tsx, ['--tsconfig', path.resolve(here, '../../gateway/tsconfig.json'), path.join(here, 'stack.ts')], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the web stack did not start within 180 s')), 180_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    void exited.then((code) => reject(new Error(`the web stack exited (${code}) before it was ready`)));
  });
  process.env['WARDEN_WEB_STACK'] = line;
  return async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
}
