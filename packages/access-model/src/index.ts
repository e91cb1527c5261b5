export { appendAudit, appendAuditMany, type AuditEntry } from './audit';
export { appendConnectorLog } from './connector-log';
export { principalRefusal } from './access/grantability';
export {
  ENTITLEMENT_KINDS,
  ENTITLEMENT_KIND_NAMES,
  RESOURCE_TYPES_REGISTRY,
  RESOURCE_TYPE_LIST,
  DIRECTORY_ROLE_WRITE_PERMISSION,
  entitlementKind,
  kindsOf,
  sweepGrantPattern,
  sweepOfStage,
  RESOURCE_STAGES,
  principalKindOfResource,
  additionalWritePermissions,
  missingAdditionalWritePermissions,
  slugLikePattern,
  roleAllowedAtScope,
  ADMINISTRATIVE_UNIT_SCOPABLE_ROLES,
  APPLICATION_SCOPABLE_ROLES,
  type EntitlementKind,
  type EntitlementShape,
  type EntitlementKindDescription,
  type ResourceTypeDescription,
  type ResourceStage,
  type ReadPermissions,
  type SweepRule,
  type StageSweep,
} from './registry/resource-types';
export {
  entitlementKey,
  memberKey,
  groupOfMemberKey,
  isOwnerKey,
  keyPattern,
  MEMBER_KEY_PATTERN,
  SCOPED_ROLE_SLUG_PREFIX,
  roleAssignedSlug,
  directoryScopeOfSlug,
  directoryScopeKind,
} from './registry/keys';
export { chunks, sameList, WRITE_BATCH } from './util';
export { inheritedGroups, loadGroupParents, recomputeInheritedMemberships, type InheritancePrincipal } from './closure/closure';
export {
  requestProvisioning,
  requestSystemProvisioning,
  requestSystemProvisioningMany,
  requestRefusal,
  ProvisioningRequestError,
  SYSTEM_ACTOR,
  type ProvisioningRequestInput,
  type SystemProvisioningRequestInput,
  type ProvisioningRequestErrorCode,
  type RequestOptions as ProvisioningRequestOptions,
} from './provisioning/request';
export { requestSync, SyncRefused, type SyncRequest } from './sync/request';
export * from './reviews/index';
export { ruleOidsSql, ruleSubjectsSql, fallbackSubjectsSql, managerJoinSql, scopeOwnersSql, type BulkDeciderParams } from './deciders/bulk';
export * from './deciders';
export * from './requests';
