import { runService } from '@warden/service-kit';
import { parseEnvironment } from './environment';
import { startProvisionWorker } from './worker';

await runService(() => parseEnvironment(), startProvisionWorker);
