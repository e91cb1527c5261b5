export { appendAudit, type AuditEntry } from './audit';
export { appendConnectorLog } from './connector-log';
export { entitlementKind, principalRefusal, type EntitlementKind, type EntitlementShape } from './access/grantability';
export {
  requestProvisioning, requestSystemProvisioning, requestRefusal, ProvisioningRequestError, SYSTEM_ACTOR,
  type ProvisioningRequestInput, type SystemProvisioningRequestInput, type ProvisioningRequestErrorCode, type RequestOptions as ProvisioningRequestOptions,
} from './provisioning/request';
export { requestSync, SyncRefused, type SyncRequest } from './sync/request';
