export { AccessRequestError, type AccessRequestErrorCode } from './errors';
export type { RequestDeps } from './deps';
export { effectivePolicy, listPolicies, setAccessPolicy, POLICY_LIMITS, type AccessPolicyInput } from './policy';
export {
  requestAccess,
  decideAccessRequest,
  cancelAccessRequest,
  decisionRefusal,
  provisionApproved,
  followAccessRequests,
  enforceStepDeadlines,
  noticeExpiringAccess,
  requestTaskKey,
  REQUEST_LIMITS,
  type RequestActor,
  type RequestAccessInput,
} from './workflow';
