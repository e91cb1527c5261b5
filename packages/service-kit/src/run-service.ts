export interface RunServiceOptions {
  /** Exit code when the environment is invalid (default 1; the gateway uses 2, like its CLIs). */
  invalidEnvironmentExitCode?: number;
  /**
   * When set, a failure to start is one line, `<name> failed to start: <message>`, and exit code 1,
   * instead of the rejected promise (with its stack trace) reaching the caller.
   */
  name?: string;
  /**
   * How long a SIGINT/SIGTERM shutdown may take before the process exits anyway (code 1), so a
   * dependency that stalls (a half-open connection) cannot hold a replica in shutdown forever.
   * Default: SHUTDOWN_TIMEOUT_MS from the environment, else 25 s (below Kubernetes' 30 s grace).
   */
  shutdownTimeoutMs?: number;
}

/**
 * What every service's main.ts does: parse the environment (exit 1 naming every bad variable, no stack
 * trace), start, and close cleanly on SIGINT/SIGTERM.
 */
export async function runService<E>(
  parse: () => E,
  start: (env: E) => Promise<{ close(): Promise<void> }>,
  opts: RunServiceOptions = {},
): Promise<void> {
  let env: E;
  try {
    env = parse();
  } catch (err) {
    process.stderr.write(`${messageOf(err)}\n`);
    process.exit(opts.invalidEnvironmentExitCode ?? 1);
  }
  const deadlineMs = opts.shutdownTimeoutMs ?? (Number(process.env.SHUTDOWN_TIMEOUT_MS) || 25_000);
  let service: { close(): Promise<void> } | null = null;
  let stopRequested = false;
  const close = (s: { close(): Promise<void> }) =>
    void s.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  // Listening before start: a service logs that it started before start() returns, and a signal
  // in that window would otherwise meet Node's default and kill the process instead of closing it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopRequested = true;
      setTimeout(() => {
        process.stderr.write(`${opts.name ?? 'service'}: shutdown did not finish within ${deadlineMs} ms; exiting\n`);
        process.exit(1);
      }, deadlineMs);
      if (service) close(service);
    });
  }
  try {
    service = await start(env);
  } catch (err) {
    if (opts.name === undefined) throw err;
    process.stderr.write(`${opts.name} failed to start: ${messageOf(err)}\n`);
    process.exit(1);
  }
  if (stopRequested) close(service);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
