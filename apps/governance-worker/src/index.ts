export { startGovernanceWorker, type GovernanceWorker, type StartOptions } from './worker';
export type { Consumer, Loop, WorkerDeps } from './deps';
export { LOOPS, CONSUMERS } from './registry';
export { parseEnvironment, ensureParsed, type GovernanceWorkerEnvironment, type GovernanceWorkerEnvironmentInput } from './environment';
