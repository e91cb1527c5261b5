export * from './database';
export { createDb, migrateToLatest, type DbOptions } from './db';
export { CHANGE_CHANNEL, SERVED_TABLES } from './change-channel';
export { SecretBox, sealCredentials, openCredentials, type ConnectorCredentials, type SecretKey } from './secret-box';
export { Bus, type BusOptions, type ConsumeContext, type ConsumeOptions } from './bus/bus';
export { busNames, type BusNames } from './bus/subjects';
export * from './bus/contracts';
export { appendAudit, type AuditEntry } from './audit';
export { appendConnectorLog } from './connector-log';
export { entitlementKind, principalRefusal, type EntitlementKind, type EntitlementShape } from './access/grantability';
export {
  requestProvisioning, requestRefusal, ProvisioningRequestError,
  type ProvisioningRequestInput, type ProvisioningRequestErrorCode, type RequestOptions as ProvisioningRequestOptions,
} from './provisioning/request';
export {
  commonEnvironment, metricsEnvironment, allowedGraphHostsEnvironment, parseEnvironmentWith, productionSecretProblems, KNOWN_DEVELOPMENT_SECRETS,
} from './config/environment';
export { HostAllowlist, HostNotAllowedError, DEFAULT_ALLOWED_GRAPH_HOSTS } from './config/host-allowlist';
export { startMetricsServer, type MetricsServer } from './ops/metrics-server';
export { requestSync, type SyncRequest } from './sync/request';
export { runService } from './config/run-service';
