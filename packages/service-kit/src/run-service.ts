/**
 * What every worker's main.ts does: parse the environment (exit 1 naming every bad variable, no stack
 * trace), start, and close cleanly on SIGINT/SIGTERM.
 */
export async function runService<E>(parse: () => E, start: (env: E) => Promise<{ close(): Promise<void> }>): Promise<void> {
  let env: E;
  try {
    env = parse();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const service = await start(env);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void service.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
