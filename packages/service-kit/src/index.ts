export { SecretBox, sealCredentials, openCredentials, type ConnectorCredentials, type SecretKey } from './secret-box';
export { commonEnvironment, metricsEnvironment, parseEnvironmentWith } from './environment';
export { startMetricsServer, type MetricsServer } from './metrics-server';
export { runService } from './run-service';
