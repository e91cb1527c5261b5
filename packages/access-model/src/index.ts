export { appendAudit, type AuditEntry } from './audit';
export { appendConnectorLog } from './connector-log';
export { entitlementKind, principalRefusal, type EntitlementKind, type EntitlementShape } from './access/grantability';
export {
  requestProvisioning, requestRefusal, ProvisioningRequestError,
  type ProvisioningRequestInput, type ProvisioningRequestErrorCode, type RequestOptions as ProvisioningRequestOptions,
} from './provisioning/request';
export { requestSync, type SyncRequest } from './sync/request';
