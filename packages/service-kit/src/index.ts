export { SecretBox, sealCredentials, openCredentials, type ConnectorCredentials, type SecretKey } from './secret-box';
export {
  commonEnvironment,
  metricsEnvironment,
  allowedGraphHostsEnvironment,
  parseEnvironmentWith,
  productionSecretProblems,
  KNOWN_DEVELOPMENT_SECRETS,
} from './environment';
export { HostAllowlist, HostNotAllowedError, DEFAULT_ALLOWED_GRAPH_HOSTS } from './host-allowlist';
export { startMetricsServer, serveMetrics, metricsAuthorized, readiness, type MetricsServer, type ReadinessChecks } from './metrics-server';
export { runService, type RunServiceOptions } from './run-service';
export {
  createLogger,
  redactSecrets,
  isSecretField,
  REDACTED_FIELDS,
  REDACTION_CENSOR,
  REDACTION_DEPTH,
  type LoggerOptions,
} from './logger';
