export { startProvisionWorker, type ProvisionWorker, type StartOptions } from './worker';
export { parseEnvironment, type ProvisionWorkerEnvironment, type ProvisionWorkerEnvironmentInput } from './environment';
// Requests are made with @warden/access-model's requestProvisioning (shared with the gateway).
export { scanExpiredGrants } from './expiry/scan';
