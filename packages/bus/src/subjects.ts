/**
 * Every subject, stream and durable consumer name lives here. A namespace prefixes all of them so
 * deployments (and test runs) sharing one NATS server never see each other's messages.
 * Work-queue streams reject consumers with overlapping filters, so each worker kind has its own
 * stream and subjects.
 */
export interface BusNames {
  namespace: string;
  syncStream: string;
  syncSubject: string;
  syncConsumer: string;
  provisionStream: string;
  provisionSubject: string;
  provisionConsumer: string;
  syncRunEvents(connectorId: string | '*'): string;
  provisioningTaskEvents(taskId: string | '*'): string;
  /** A browser session ended (logout, failed refresh): every gateway replica closes its sockets. */
  browserSessionEnded: string;
  accessReviewEvents(reviewId: string | '*'): string;
  accessRequestEvents(requestId: string | '*'): string;
}

export function busNames(namespace = 'warden'): BusNames {
  if (!/^[a-zA-Z0-9_-]+$/.test(namespace)) throw new Error(`bus namespace '${namespace}' may only use letters, digits, _ and -`);
  const streamPrefix = namespace.toUpperCase().replace(/-/g, '_');
  return {
    namespace,
    syncStream: `${streamPrefix}_SYNC`,
    syncSubject: `${namespace}.cmd.sync.requested`,
    syncConsumer: 'sync-worker',
    provisionStream: `${streamPrefix}_PROVISION`,
    provisionSubject: `${namespace}.cmd.provision.requested`,
    provisionConsumer: 'provision-worker',
    syncRunEvents: (connectorId) => `${namespace}.evt.sync-run.${connectorId}`,
    provisioningTaskEvents: (taskId) => `${namespace}.evt.provisioning-task.${taskId}`,
    browserSessionEnded: `${namespace}.evt.browser-session.ended`,
    accessReviewEvents: (reviewId) => `${namespace}.evt.access-review.${reviewId}`,
    accessRequestEvents: (requestId) => `${namespace}.evt.access-request.${requestId}`,
  };
}
