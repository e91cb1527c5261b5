import { registerEnumType } from 'type-graphql';
import {
  AUTH_METHODS,
  CONNECTOR_STATUSES,
  LOG_LEVELS,
  PROVISIONING_ACTIONS,
  PROVISIONING_STATUSES,
  RESOURCE_TYPES,
  SYNC_MODES,
  SYNC_RUN_STATUSES,
} from '@warden/database';

// GraphQL enums straight from @warden/database's value lists, so the API and the tables agree.
const asEnum = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

export const ConnectorStatusEnum = asEnum(CONNECTOR_STATUSES);
export const AuthMethodEnum = asEnum(AUTH_METHODS);
export const LogLevelEnum = asEnum(LOG_LEVELS);
export const ResourceTypeEnum = asEnum(RESOURCE_TYPES);
export const SyncModeEnum = asEnum(SYNC_MODES);
export const SyncRunStatusEnum = asEnum(SYNC_RUN_STATUSES);
export const ProvisioningActionEnum = asEnum(PROVISIONING_ACTIONS);
export const ProvisioningStatusEnum = asEnum(PROVISIONING_STATUSES);

registerEnumType(ConnectorStatusEnum, { name: 'ConnectorStatus' });
registerEnumType(AuthMethodEnum, { name: 'AuthMethod' });
registerEnumType(LogLevelEnum, { name: 'LogLevel' });
registerEnumType(ResourceTypeEnum, { name: 'ResourceType' });
registerEnumType(SyncModeEnum, { name: 'SyncMode' });
registerEnumType(SyncRunStatusEnum, { name: 'SyncRunStatus' });
registerEnumType(ProvisioningActionEnum, { name: 'ProvisioningAction' });
registerEnumType(ProvisioningStatusEnum, { name: 'ProvisioningStatus' });
