import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureParsed, parseEnvironment } from '../src';
import { createHarness, waitFor, type Harness } from './support/harness';

const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let h: Harness;
/** Every worker process this file started; whatever still runs at the end is killed, never left behind. */
const children: ChildProcess[] = [];
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await h?.close();
});

function run(env: Record<string, string>) {
  // node itself with tsx as a loader (not the tsx wrapper, which runs the worker as its child): the
  // signal reaches the worker directly, and the SIGKILL of a failed test leaves no orphan behind.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

describe('the governance worker process', () => {
  it('starts, and on SIGTERM stops cleanly with exit code 0', async () => {
    const p = run({ ...h.env, LOG_LEVEL: 'info' });
    try {
      await waitFor('the started line', async () => p.stderr().includes('governance worker started'), 60_000);
      p.child.kill('SIGTERM');
      const code = await Promise.race([p.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
      expect(code).toBe(0);
      expect(p.stderr()).toContain('governance worker stopped');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
    // Longer than the deadlines above, so they (and the finally) always run before vitest gives up.
  }, 120_000);

  it('refuses an incomplete channel configuration, naming every variable, without a stack trace', async () => {
    const p = run({ ...h.env, NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/x', SMTP_URL: 'smtp://mail.example.com:25' });
    const code = await Promise.race([p.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    expect(code).toBe(1);
    expect(p.stderr()).toContain('invalid governance-worker environment');
    expect(p.stderr()).toContain('NOTIFY_WEBHOOK_SECRET: is required when NOTIFY_WEBHOOK_URL is set');
    expect(p.stderr()).toContain('NOTIFY_EMAIL_FROM: is required when SMTP_URL is set');
    expect(p.stderr()).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('parses its defaults and refuses bad values', () => {
    const env = parseEnvironment({ ...h.env });
    expect(env).toMatchObject({ NOTIFY_LOG: true, NOTIFY_MAX_ATTEMPTS: 8, NOTIFY_POLL_INTERVAL_MS: 2_000 });
    expect(parseEnvironment({ ...h.env, NOTIFY_LOG: 'false' }).NOTIFY_LOG).toBe(false);
    // Compose's `${VAR:-}` (empty) means not configured.
    const empty = parseEnvironment({ ...h.env, NOTIFY_WEBHOOK_URL: '', NOTIFY_WEBHOOK_SECRET: '', SMTP_URL: '', NOTIFY_EMAIL_FROM: '' });
    expect(empty.NOTIFY_WEBHOOK_URL).toBeUndefined();
    expect(empty.SMTP_URL).toBeUndefined();
    // What main.ts hands to startGovernanceWorker is used as it is, not parsed twice.
    expect(ensureParsed(env)).toBe(env);
    expect(ensureParsed({ ...h.env })).not.toBe(env);
    expect(() => parseEnvironment({ ...h.env, NOTIFY_WEBHOOK_URL: 'ftp://x', NOTIFY_WEBHOOK_SECRET: 'short' })).toThrow(
      /NOTIFY_WEBHOOK_URL[\s\S]*NOTIFY_WEBHOOK_SECRET/,
    );
  });
});
