import { runService } from '@warden/service-kit';
import { parseEnvironment } from './environment';
import { startSyncWorker } from './worker';

await runService(() => parseEnvironment(), startSyncWorker);
