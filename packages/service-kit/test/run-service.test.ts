import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { describe, expect, it } from 'vitest';

describe('runService shutdown', () => {
  it('exits 1 when closing takes longer than SHUTDOWN_TIMEOUT_MS after SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures/stuck-service.ts')], {
      env: { ...process.env, SHUTDOWN_TIMEOUT_MS: '300' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    await new Promise<void>((resolve) => readline.createInterface({ input: child.stdout }).once('line', () => resolve()));
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(stderr).toContain('shutdown did not finish within 300 ms');
  }, 30_000);
});
