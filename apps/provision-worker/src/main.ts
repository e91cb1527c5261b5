import { runService } from '@warden/schema';
import { parseEnvironment } from './environment';
import { startProvisionWorker } from './worker';

await runService(() => parseEnvironment(), startProvisionWorker);
