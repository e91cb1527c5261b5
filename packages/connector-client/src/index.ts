export {
  assertConnectorUsable,
  connectorGraphClient,
  connectorGraphOptions,
  credentialsGraphClient,
  graphAuthOf,
  type ClientTuning,
  type ConnectorClientSettings,
  type ConnectorEndpoints,
  type ConnectorGraphOptions,
  type ConnectorProblem,
  type CredentialsInput,
  type OAuthApp,
} from './connector-client';
