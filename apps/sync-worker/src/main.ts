import { parseEnvironment } from './environment';
import { startSyncWorker } from './worker';

let env;
try {
  env = parseEnvironment();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
const worker = await startSyncWorker(env);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void worker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
