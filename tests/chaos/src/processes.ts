import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

/** Every child this run started; none may outlive the runner, however it ends (an error, Ctrl-C, a test timeout). */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export type ServiceKind = 'gateway' | 'sync-worker' | 'provision-worker' | 'governance-worker';

/**
 * One service replica as a separate process (`node --import tsx apps/<kind>/src/main.ts`), restartable with the
 * same environment and ports. Its output goes to `<logDir>/<name>.log`, appended across restarts.
 */
export class ServiceProcess {
  child: ChildProcess | null = null;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  starts = 0;
  /** Exits nobody asked for (the supervisor restarts the replica after a second, as an orchestrator would). */
  unexpectedExits = 0;
  /** Of those, exits by an unhandled error or rejection after start: always a bug. */
  crashes: string[] = [];
  private stopping = false;
  private closed = false;
  private log: WriteStream;

  constructor(
    readonly name: string,
    readonly kind: ServiceKind,
    private readonly env: Record<string, string>,
    /** GET …/readyz of this replica (its API port for the gateway, its metrics port for a worker). */
    readonly probeBase: string,
    logDir: string,
  ) {
    this.log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running || this.closed) return;
    this.stopping = false;
    this.starts++;
    this.log.write(`--- start #${this.starts} at ${new Date().toISOString()}\n`);
    // One process per replica (`node --import tsx`, not the tsx CLI, which runs the service in a child
    // of its own that a kill -9 of the parent would leave running).
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, `apps/${this.kind}/src/main.ts`)], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let crash: string | null = null;
    child.stdout.pipe(this.log, { end: false });
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      this.log.write(`${line}\n`);
      if (crash === null && /Unhandled 'error' event|UnhandledPromiseRejection|uncaughtException/.test(line)) crash = line.trim();
    });
    this.child = track(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        resolve({ code, signal });
        if (this.stopping || this.closed) return;
        this.unexpectedExits++;
        if (crash !== null) this.crashes.push(crash);
        this.log.write(`--- exited unexpectedly (code ${code}, signal ${signal}); restarting in 1 s\n`);
        setTimeout(() => this.start(), 1_000).unref();
      }),
    );
  }

  /** kill -9: no cleanup of any kind. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and the time the replica took to exit (SIGKILL after `deadlineMs`, reported as null). */
  async terminate(deadlineMs = 30_000): Promise<{ ms: number | null; code: number | null }> {
    if (!this.running) return { ms: 0, code: null };
    const t0 = Date.now();
    this.stopping = true;
    this.child!.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
    });
    const r = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (r === 'timeout') {
      await this.kill9();
      return { ms: null, code: null };
    }
    return { ms: Date.now() - t0, code: r.code };
  }

  async probe(p: '/readyz' | '/healthz'): Promise<number> {
    try {
      const r = await fetch(this.probeBase + p, { signal: AbortSignal.timeout(3_000) });
      await r.body?.cancel();
      return r.status;
    } catch {
      return 0;
    }
  }

  async waitReady(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.probe('/readyz')) !== 200) {
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.terminate(15_000);
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }
}
