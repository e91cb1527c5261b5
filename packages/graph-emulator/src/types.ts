import type { Logger } from 'pino';

export type TenantSize = 'S' | 'M' | 'L' | 'XL';

export interface EmulatorApp {
  name: 'provisioning' | 'readonly' | 'unconsented' | string;
  clientId: string;
  clientSecret: string;
  roles: string[];
  certificatePem?: string;
  privateKeyPem?: string;
  /** API apps only (the Warden application): what it exposes and who holds it. */
  api?: WardenApiInfo;
}

/** The Warden application's registration as an OpenID Connect client and a protected API. */
export interface WardenApiInfo {
  /** Application ID URI (`api://<client id>`); scopes may also be prefixed with the bare client id. */
  identifierUri: string;
  /** Delegated scope it exposes (`access_as_user`). */
  scopes: string[];
  appRoles: { id: string; value: string; displayName: string; allowedMemberTypes: string[] }[];
  /** Web (confidential) redirect URIs: redeeming a code needs the client secret. */
  redirectUris: string[];
  /** Public-client (SPA / native) redirect URIs: no secret, PKCE S256 required. */
  publicClientRedirectUris: string[];
  servicePrincipalId: string;
  /** App role value -> UPNs holding it directly; `viaGroup` lists roles granted through a group. */
  roleHolders: Record<string, string[]>;
  viaGroup: { groupId: string; displayName: string; role: string; memberUpns: string[] }[];
}

/** Exactly the JSON start line of the CLI and the body of GET /_emulator/config. */
export interface EmulatorConfig {
  baseUrl: string;
  authorityHost: string;
  tenantId: string;
  caCertPath: string;
  apps: EmulatorApp[];
}

export interface ThrottleSettings {
  enabled: boolean;
  ruPer10s: number;
  writesPer150s: number;
  /** Graph's tenant-wide write quota, shared by every app of the tenant (default 18,000 per 5 min). */
  tenantWritesPer300s?: number;
}

/** HTTP methods whose latency can be set on their own (`methodLatencyFactor`). */
export type LatencyMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface EmulatorSettings {
  /** Latency of a read (GET); other methods take `latencyMs × methodLatencyFactor[method]`. */
  latencyMs: number;
  jitterMs: number;
  /**
   * Per method, how many times `latencyMs` a request takes (default GET 1, writes 3: see the README's
   * "Latency" for where the default comes from). Applies to single requests and to each `$batch` item.
   */
  methodLatencyFactor?: Partial<Record<LatencyMethod, number>>;
  faultRate: number;
  /** Share (0..1) of `$batch` items answered 503/504 with their own `Retry-After` inside a 200 batch (not executed). */
  batchItemFaultRate?: number;
  /** The next N `$batch` items fail with 503/504 whatever `batchItemFaultRate` draws. */
  forceBatchItemFaults?: number;
  /**
   * Reseeds the generator behind jitter, random faults and $batch response order, so a test that
   * prints its seed can replay the same draws. Applied when set; not kept in the settings.
   */
  faultSeed?: number;
  /**
   * Share (0..1) of Graph requests (outside $batch) that are executed — a write is applied — and whose
   * connection is then cut halfway through the response: the client cannot know whether it happened.
   */
  dropRate?: number;
  /** The next N Graph requests fail with 503/504 whatever `faultRate` draws (a test asserting on faults needs some). */
  forceFaults?: number;
  throttle: ThrottleSettings;
  deltaTokenTtlSeconds: number;
  pageTokenTtlSeconds: number;
  forceResync: boolean;
  /** Share (0..1) of already-delivered changes replayed in later delta rounds. */
  replayRate?: number;
  /** Objects per delta page (Graph does not document it; default 100). */
  deltaPageSize?: number;
  /** Link entries (members@delta + owners@delta) per delta page before a group is split (default 1000). */
  deltaLinksPerPage?: number;
  /** Lifetime of issued access tokens (default 3599 s, as Entra ID). */
  tokenLifetimeSeconds?: number;
  /**
   * Fault injection for clients: the origin written into `@odata.nextLink` / `@odata.deltaLink`
   * instead of the emulator's own (a hostile or misconfigured Graph). Null/unset = the emulator's.
   */
  linkBaseUrl?: string | null;
}

export interface TenantCounts {
  users: number;
  groups: number;
  /** Total direct group memberships to generate (approximate). */
  memberships: number;
  /** Groups with more than 10k members (needs users >= 10k). */
  largeGroups: number;
  enterpriseApps: number;
  managedIdentities: number;
  appRoleAssignments: number;
  devices: number;
  orgContacts: number;
  roleAssignments: number;
  roleEligibilitySchedules: number;
  customRoles: number;
}

export interface StartOptions {
  size?: TenantSize;
  seed?: number;
  /** 0 = any free port. */
  port?: number;
  /** Default 127.0.0.1; the certificate is valid for localhost, 127.0.0.1 and ::1. */
  host?: string;
  /** Host name clients use in URLs (default localhost), e.g. the compose service name; added to the certificate. */
  publicHost?: string;
  counts?: Partial<TenantCounts>;
  settings?: Partial<EmulatorSettings>;
  logger?: Logger;
  /** Web redirect URIs of the Warden app (default `http://localhost:4000/auth/callback`). */
  wardenRedirectUris?: string[];
  /** How long a change takes to appear in `/auditLogs/directoryAudits` (default 0: at once). */
  auditLatencyMs?: number;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

export interface GraphUser extends JsonObject {
  id: string;
}

export interface ExportGroup extends JsonObject {
  id: string;
  members: string[];
  owners: string[];
}

export interface ExportServicePrincipal extends JsonObject {
  id: string;
  owners: string[];
}

export interface TenantExport {
  tenantId: string;
  users: JsonObject[];
  groups: ExportGroup[];
  servicePrincipals: ExportServicePrincipal[];
  appRoleAssignments: JsonObject[];
  servicePrincipalOwners: { servicePrincipalId: string; ownerId: string }[];
  roleDefinitions: JsonObject[];
  roleAssignments: JsonObject[];
  administrativeUnits: JsonObject[];
  applications: JsonObject[];
  roleEligibilitySchedules: JsonObject[];
  directoryRoles: (JsonObject & { members: string[] })[];
  devices: JsonObject[];
  orgContacts: JsonObject[];
}

export type ChangeKind =
  | 'userCreated'
  | 'userDeleted'
  | 'userUpdated'
  | 'groupCreated'
  | 'groupDeleted'
  | 'groupUpdated'
  | 'memberAdded'
  | 'memberRemoved'
  | 'ownerAdded'
  | 'ownerRemoved'
  | 'servicePrincipalOwnerAdded'
  | 'servicePrincipalOwnerRemoved'
  | 'appRoleAssignmentCreated'
  | 'appRoleAssignmentDeleted'
  | 'roleAssignmentCreated'
  | 'roleAssignmentDeleted'
  | 'roleEligibilityCreated'
  | 'roleEligibilityDeleted';

export interface Change {
  kind: ChangeKind;
  /** The object whose state changed (group for membership changes, resource SP for assignments). */
  objectId: string;
  /** The other end of a link (member, owner, principal), when there is one. */
  targetId?: string;
  /** Id of a created/deleted assignment or schedule. */
  itemId?: string;
  /** Changed properties for updates. */
  properties?: string[];
}

export interface RouteStats {
  [statusCode: string]: number;
}

export interface EmulatorStats {
  since: string;
  requests: number;
  byRoute: Record<string, RouteStats>;
  byStatus: Record<string, number>;
  ruSpent: number;
  throttled: number;
  writes: number;
  /** Responses cut mid-way by `dropRate`. */
  connectionsDropped?: number;
  tokensIssued: number;
  /** Token requests by the `scope` they asked for (e.g. `https://localhost:8443/.default`). */
  tokenScopes: Record<string, number>;
  faultsInjected: number;
  /** Process memory when the stats were read. */
  memory?: { rssMB: number; heapUsedMB: number };
}

export interface RunningEmulator {
  config: EmulatorConfig;
  app(name: string): EmulatorApp;
  settings(): EmulatorSettings;
  updateSettings(p: Partial<EmulatorSettings>): void;
  exportTenant(): TenantExport;
  mutate(count: number, seed?: number): Change[];
  reset(): void;
  stats(): EmulatorStats;
  /** Resets the stats and the write log. */
  resetStats(): void;
  /** Every Graph write since start (or the last stats reset), oldest first, with its answer. */
  writeLog(): WriteLogEntry[];
  /** Every directory audit entry since the tenant was generated (or reset), oldest first, latency ignored. */
  auditLog(): JsonObject[];
  auditLogSettings(): AuditLogSettings;
  /** latencyMs: from now on a change shows in `/auditLogs/directoryAudits` that long after it happened; licensed: false = Graph refuses the log (403, a tenant without P1/P2). */
  updateAuditLogSettings(p: Partial<AuditLogSettings>): AuditLogSettings;
  /** Publishes a new token signing key and signs with it from now on; the previous key stays published for `previousKeyTtlSeconds` (default 24 h) or until the next rotation. Returns the new kid. */
  rotateSigningKey(previousKeyTtlSeconds?: number): string;
  /**
   * Test hook: `hook` is awaited after every Graph answer (a `$batch` as a whole) is computed and
   * before it is sent, so a test can change the tenant in between — a read that raced a write
   * (`body`: the parsed JSON body, e.g. a `$batch`'s requests).
   * The answer is not recomputed. Returns a function that removes the hook.
   */
  beforeAnswer(hook: (req: { method: string; path: string; query: string; body: unknown }) => void | Promise<void>): () => void;
  close(): Promise<void>;
}

export interface AuditLogSettings {
  latencyMs: number;
  licensed: boolean;
}

/** One Graph write as the emulator answered it (`GET /_emulator/writes`). */
export interface WriteLogEntry {
  at: string;
  method: string;
  /** Path below /v1.0 as requested (alternate keys not resolved). */
  path: string;
  /** The request body (JSON text), or null. */
  body: string | null;
  status: number;
  appId: string | null;
  requestId: string;
  inBatch: boolean;
}
