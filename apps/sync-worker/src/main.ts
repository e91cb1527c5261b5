import { runService } from '@warden/service-kit';
import { parseEnvironment } from './environment';
import { lowerOwnPriority } from './priority';
import { startSyncWorker } from './worker';

await runService(
  () => parseEnvironment(),
  (env) => {
    // The deployable only: in-process starts (tests) leave their host process's priority alone.
    lowerOwnPriority(env.SYNC_WORKER_NICE);
    return startSyncWorker(env);
  },
);
