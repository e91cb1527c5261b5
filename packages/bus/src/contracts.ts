import { z } from 'zod';
import { ACCESS_REQUEST_STATUSES, ACCESS_REVIEW_STATUSES, PROVISIONING_STATUSES, SYNC_MODES, SYNC_RUN_STATUSES } from '@warden/database';

// Every message carries its contract version `v`; a consumer rejects (terminates) versions it does
// not know instead of guessing. Add a new literal and a union member when a contract changes shape.

/** Command: run (or resume) a sync run. The run row already exists in QUEUED or RUNNING state. */
export const SyncRequested = z.object({
  v: z.literal(1),
  runId: z.uuid(),
  connectorId: z.uuid(),
  mode: z.enum(SYNC_MODES),
});
export type SyncRequested = z.infer<typeof SyncRequested>;

/** Command: carry out a provisioning task (the row exists in PENDING state). */
export const ProvisioningRequested = z.object({
  v: z.literal(1),
  taskId: z.uuid(),
  connectorId: z.uuid(),
});
export type ProvisioningRequested = z.infer<typeof ProvisioningRequested>;

/** Event: a sync run changed state or progress. Subscribers re-read the row for details. */
export const SyncRunUpdated = z.object({
  v: z.literal(1),
  runId: z.uuid(),
  connectorId: z.uuid(),
  status: z.enum(SYNC_RUN_STATUSES),
  progress: z.string().nullable(),
  at: z.iso.datetime(),
});
export type SyncRunUpdated = z.infer<typeof SyncRunUpdated>;

/** Event: a provisioning task changed state. */
export const ProvisioningTaskUpdated = z.object({
  v: z.literal(1),
  taskId: z.uuid(),
  connectorId: z.uuid(),
  status: z.enum(PROVISIONING_STATUSES),
  at: z.iso.datetime(),
});
export type ProvisioningTaskUpdated = z.infer<typeof ProvisioningTaskUpdated>;

/** Event: a browser session ended; `idHash` is the sha256 the session is stored under, never the cookie. */
export const BrowserSessionEnded = z.object({
  v: z.literal(1),
  idHash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.iso.datetime(),
});
export type BrowserSessionEnded = z.infer<typeof BrowserSessionEnded>;

/** Event: an access review changed (a decision, remediation progress, a state change). Subscribers re-read the row. */
export const AccessReviewUpdated = z.object({
  v: z.literal(1),
  reviewId: z.uuid(),
  connectorId: z.uuid(),
  status: z.enum(ACCESS_REVIEW_STATUSES),
  at: z.iso.datetime(),
});
export type AccessReviewUpdated = z.infer<typeof AccessReviewUpdated>;

/**
 * Event: an access request changed state (a decision, a new step, escalation, provisioning outcome,
 * expiry). Subscribers re-read the row for details.
 */
export const AccessRequestUpdated = z.object({
  v: z.literal(1),
  requestId: z.uuid(),
  connectorId: z.uuid(),
  status: z.enum(ACCESS_REQUEST_STATUSES),
  currentStep: z.number().int().nonnegative().nullable(),
  at: z.iso.datetime(),
});
export type AccessRequestUpdated = z.infer<typeof AccessRequestUpdated>;
