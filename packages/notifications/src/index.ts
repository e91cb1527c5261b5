export {
  enqueueNotification,
  NotificationInputError,
  NOTIFICATION_KINDS,
  type NotificationInput,
  type NotificationRecipient,
} from './enqueue';
export type { NotificationChannel, OutgoingNotification, ResolvedRecipient } from './channel';
export { LogChannel, type InfoLogger } from './channels/log';
export {
  NotificationDispatcher,
  type DispatcherOptions,
  type DispatchLogger,
  type DispatchResult,
  type DeliveryOutcome,
} from './dispatcher';
export { resolveRecipients, isEmailAddress } from './recipients';
export { backoffDelay, seededRandom, type BackoffOptions } from './backoff';
