export { startGateway, type RunningGateway, type GatewayOverrides } from './server';
export { buildSchema, printGatewaySchema } from './schema';
export { parseEnvironment, type GatewayEnvironment, type GatewayEnvironmentInput } from './environment';
export { mintToken, verifyToken, type JwtConfig } from './auth/jwt';
export { ROLES, type Role, type Caller } from './auth/roles';
export { TokenEndpointProbe, type CredentialProbe, type ProbeInput, type ProbeResult } from './modules/connectors/credential-probe';
export { missingPermissions, READ_PERMISSIONS, PROVISIONING_PERMISSIONS } from './modules/connectors/permissions';
export { reencryptSecrets } from './modules/connectors/reencrypt';
