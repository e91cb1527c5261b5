export { startProvisionWorker, type ProvisionWorker, type StartOptions } from './worker';
export { parseEnvironment, type ProvisionWorkerEnvironment, type ProvisionWorkerEnvironmentInput } from './environment';
export {
  requestProvisioning,
  requestRefusal,
  ProvisioningRequestError,
  type ProvisioningRequestInput,
  type ProvisioningRequestErrorCode,
  type RequestOptions,
} from './tasks/request';
export { scanExpiredGrants } from './expiry/scan';
