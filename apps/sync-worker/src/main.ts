import { runService } from '@warden/schema';
import { parseEnvironment } from './environment';
import { startSyncWorker } from './worker';

await runService(() => parseEnvironment(), startSyncWorker);
