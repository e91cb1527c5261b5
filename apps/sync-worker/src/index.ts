export { startSyncWorker, type SyncWorker, type StartOptions } from './worker';
export { parseEnvironment, type SyncWorkerEnvironment, type SyncWorkerEnvironmentInput } from './environment';
export { requestSync, type SyncRequest } from '@warden/access-model';
export { scheduleDueSyncs, type ScheduleResult } from './scheduler';
export { handleSyncRequested, type RunDeps, type RunOutcome } from './runs/execute';
export { planStages, STAGE_PERMISSIONS, type StagePlan } from './permissions';
export { inheritedGroups } from '@warden/access-model';
export { recomputeClosure } from './inheritance/recompute';
