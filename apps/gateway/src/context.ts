import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Bus } from '@warden/bus';
import type { Database } from '@warden/database';
import type { SecretBox } from '@warden/service-kit';
import type { Caller } from './auth/roles';
import type { GatewayEnvironment } from './environment';
import { createLoaders, type Loaders } from './loaders';
import type { HostAllowlist } from './security/host-allowlist';
import type { CredentialProbe } from './modules/connectors/credential-probe';
import { AuditService } from './modules/audit/audit.service';
import { ConnectorService } from './modules/connectors/connector.service';
import { GrantService } from './modules/grants/grant.service';
import { GrantRequestService } from './modules/grants/grant-request.service';
import { MeService } from './modules/me/me.service';
import { AccessPolicyService } from './modules/policies/access-policy.service';
import { AccessRequestService } from './modules/requests/access-request.service';
import { ResourceService } from './modules/resources/resource.service';
import { ReviewService } from './modules/reviews/review.service';
import { SyncRunService } from './modules/sync-runs/sync-run.service';

/** Process-wide dependencies, built once by startGateway. */
export interface GatewayDeps {
  db: Kysely<Database>;
  bus: Bus;
  box: SecretBox;
  env: GatewayEnvironment;
  logger: Logger;
  allowlist: HostAllowlist;
  probe: CredentialProbe;
}

/** Per request (or per subscription operation). */
export interface GatewayContext {
  deps: GatewayDeps;
  caller: Caller | null;
  requestId: string;
  loaders: Loaders;
  logger: Logger;
  services: Services;
  /** Set by a resolver whose answer depends on the caller: the response cache must not keep it. */
  uncacheable?: boolean;
  /** Connectors the connector-scoped root fields read from; null once one could not tell (see read-scope.ts). */
  readConnectors?: Set<string> | null;
  /** Rows the row-keyed fields read, as change-feed keys; null once one could not name them (see read-scope.ts). */
  readRows?: Set<string> | null;
}

export interface Services {
  connectors: ConnectorService;
  resources: ResourceService;
  grants: GrantService;
  syncRuns: SyncRunService;
  /** grant / revoke requests (provisioning tasks): where the gateway writes a grant or a revoke. */
  grantRequests: GrantRequestService;
  audit: AuditService;
  /** Who the caller is (`me`). */
  me: MeService;
  /** Access reviews (certification campaigns). */
  reviews: ReviewService;
  accessPolicies: AccessPolicyService;
  accessRequests: AccessRequestService;
}

export function createServices(deps: GatewayDeps): Services {
  const connectors = new ConnectorService(deps);
  return {
    connectors,
    resources: new ResourceService(deps.db),
    grants: new GrantService(deps.db),
    syncRuns: new SyncRunService(deps, connectors),
    grantRequests: new GrantRequestService(deps),
    audit: new AuditService(deps.db),
    me: new MeService(deps.db),
    reviews: new ReviewService(deps),
    accessPolicies: new AccessPolicyService(deps),
    accessRequests: new AccessRequestService(deps),
  };
}

export function createContext(deps: GatewayDeps, services: Services, caller: Caller | null, requestId: string): GatewayContext {
  // pino's child() serialises its bindings at once; most requests never log, so it is made on first use.
  let logger: Logger | undefined;
  return {
    deps,
    services,
    caller,
    requestId,
    loaders: createLoaders(deps.db),
    get logger() {
      return (logger ??= deps.logger.child({ requestId }));
    },
  };
}

/**
 * A subscription keeps one context for its whole life; each event gets fresh loaders so nested
 * fields show the rows as they are now, not as they were at the first event.
 */
export function refreshLoaders(ctx: GatewayContext): void {
  ctx.loaders = createLoaders(ctx.deps.db);
}
