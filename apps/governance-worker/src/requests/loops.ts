import { enforceStepDeadlines, followAccessRequests, noticeExpiringAccess, type RequestDeps } from '@warden/access-model';
import type { Consumer, Loop, WorkerDeps } from '../deps';

function requestDeps(deps: WorkerDeps, now: Date): RequestDeps {
  return { db: deps.db, bus: deps.bus, now: () => now };
}

/**
 * APPROVED → ACTIVE / FAILED when the grant's task finished, a grant never requested after a crash
 * requested again (same system key: never twice), ACTIVE → EXPIRED when time-bound access was
 * revoked. Every change is a compare-and-set on the request's status: replicas change each once.
 */
export const accessRequestFollow: Loop = {
  name: 'access-requests-follow',
  intervalMs: (env) => env.ACCESS_REQUEST_FOLLOW_INTERVAL,
  async run(deps, now) {
    const changed = await followAccessRequests(requestDeps(deps, now));
    if (changed > 0) deps.logger.debug({ changed }, 'access requests followed');
  },
};

/** Step deadlines: escalation to the fallback once, then DENIED with the reason. */
export const accessRequestDeadlines: Loop = {
  name: 'access-requests-deadlines',
  intervalMs: (env) => env.ACCESS_REQUEST_TIMER_INTERVAL,
  async run(deps, now) {
    const changed = await enforceStepDeadlines(requestDeps(deps, now), deps.env.APPROVAL_STEP_TIMEOUT);
    if (changed > 0) deps.logger.info({ changed }, 'access request steps escalated or expired');
  },
};

/** "Your access is about to expire", ACCESS_EXPIRY_NOTICE ahead, once per request. */
export const accessExpiryNotice: Loop = {
  name: 'access-requests-expiry-notice',
  intervalMs: (env) => env.ACCESS_REQUEST_TIMER_INTERVAL,
  async run(deps, now) {
    await noticeExpiringAccess(requestDeps(deps, now), deps.env.ACCESS_EXPIRY_NOTICE);
  },
};

/**
 * The fast path of accessRequestFollow: a provisioning task that finished (a live NATS event, which
 * any replica may receive) triggers a follow pass at once, so APPROVED becomes ACTIVE within
 * moments instead of at the next interval. Events are hints only — lost ones are caught by the loop —
 * and passes never overlap in one process (one more pass runs if events came during one).
 */
export const accessRequestTaskEvents: Consumer = {
  name: 'access-requests-task-events',
  async start(deps) {
    let running: Promise<void> | null = null;
    let again = false;
    const pass = (): void => {
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          await followAccessRequests(requestDeps(deps, deps.now())).catch((err: unknown) =>
            deps.logger.warn({ err }, 'following access requests after a task event failed; the loop retries'),
          );
        } while (again && !deps.signal.aborted);
      })().finally(() => {
        running = null;
      });
    };
    const unsubscribe = deps.bus.subscribeProvisioningTaskUpdated('*', (e) => {
      if (e.status === 'SUCCEEDED' || e.status === 'FAILED') pass();
    });
    await new Promise<void>((resolve) => {
      if (deps.signal.aborted) resolve();
      else deps.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    unsubscribe();
    await (running ?? Promise.resolve());
  },
};

/** Access requests' timers and consumers, registered in src/registry.ts. */
export const REQUEST_LOOPS: readonly Loop[] = [accessRequestFollow, accessRequestDeadlines, accessExpiryNotice];
export const REQUEST_CONSUMERS: readonly Consumer[] = [accessRequestTaskEvents];
