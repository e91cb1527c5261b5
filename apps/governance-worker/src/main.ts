import { runService } from '@warden/service-kit';
import { parseEnvironment } from './environment';
import { startGovernanceWorker } from './worker';

await runService(() => parseEnvironment(), startGovernanceWorker, { name: 'governance-worker' });
