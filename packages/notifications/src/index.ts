export {
  enqueueNotification,
  NotificationInputError,
  NOTIFICATION_KINDS,
  type NotificationInput,
  type NotificationRecipient,
} from './enqueue';
export type { NotificationChannel, OutgoingNotification, ResolvedRecipient } from './channel';
export { LogChannel, type InfoLogger } from './channels/log';
export { WebhookChannel, webhookPayload, type WebhookChannelOptions, type WebhookPayload } from './channels/webhook';
export { EmailChannel, type EmailChannelOptions } from './channels/email';
export { SIGNATURE_HEADER, signWebhook, verifyWebhook, type WebhookVerification } from './signature';
export {
  NotificationDispatcher,
  type DispatcherOptions,
  type DispatchLogger,
  type DispatchResult,
  type DeliveryOutcome,
} from './dispatcher';
export { resolveRecipients, isEmailAddress } from './recipients';
export { backoffDelay, seededRandom, type BackoffOptions } from './backoff';
