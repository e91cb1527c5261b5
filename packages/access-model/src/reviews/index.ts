export { createAccessReview, CREATE_PARTITIONS, PEER_OUTLIER_MIN_PEERS, PEER_OUTLIER_SHARE, type CreateReviewInput } from './create';
export { decideReviewItems, reviewDecisionRefusal, MAX_DECISIONS_PER_CALL } from './decide';
export {
  cancelAccessReview,
  completeAccessReview,
  finishRemediation,
  remediateReview,
  remediationKey,
  REMEDIATION_BATCH,
  retryRemediations,
} from './complete';
export { verifyRemediations } from './verify';
export { reviewTick, type ReviewTickResult } from './tick';
export { pendingReviewers, type PendingReviewer } from './reviewers';
export { publishReviewUpdated } from './events';
export { actorOidIn, isConnectorAdmin, ReviewError, REVIEW_SYSTEM_ACTOR, type ReviewActor } from './errors';
