import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Timestamps read as Date, written as Date or ISO string, defaulted by the database. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, T | string | undefined, T | string>;

export const RESOURCE_TYPES = ['USER', 'MANAGED_IDENTITY', 'GROUP', 'ENTERPRISE_APPLICATION', 'DIRECTORY_ROLE'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];
export const CONNECTOR_STATUSES = ['NOT_CONNECTED', 'SYNCING', 'CONNECTED', 'ERROR'] as const;
export type ConnectorStatus = (typeof CONNECTOR_STATUSES)[number];
export const AUTH_METHODS = ['CLIENT_SECRET', 'CERTIFICATE', 'OAUTH'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
export const SYNC_MODES = ['FULL', 'INCREMENTAL'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];
export const SYNC_RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type SyncRunStatus = (typeof SYNC_RUN_STATUSES)[number];
export const PROVISIONING_ACTIONS = ['GRANT', 'REVOKE'] as const;
export type ProvisioningAction = (typeof PROVISIONING_ACTIONS)[number];
export const PROVISIONING_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type ProvisioningStatus = (typeof PROVISIONING_STATUSES)[number];
export type ProvisioningKeyNamespace = 'user' | 'system';
/** Who decides an approval step or a review item (governance contract's DeciderKind). */
export const DECIDER_KINDS = ['MANAGER', 'RESOURCE_OWNER', 'CONNECTOR_OWNER', 'USERS'] as const;
export type DeciderKind = (typeof DECIDER_KINDS)[number];
export const REVIEW_DECISIONS = ['KEEP', 'REVOKE'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];
export const UNDECIDED_ACTIONS = ['KEEP', 'REVOKE', 'RECOMMENDATION'] as const;
export type UndecidedAction = (typeof UNDECIDED_ACTIONS)[number];
export const ACCESS_REVIEW_STATUSES = ['ACTIVE', 'COMPLETING', 'COMPLETED', 'CANCELLED'] as const;
export type AccessReviewStatus = (typeof ACCESS_REVIEW_STATUSES)[number];
export const ACCESS_REQUEST_STATUSES = ['PENDING', 'DENIED', 'CANCELLED', 'APPROVED', 'ACTIVE', 'FAILED', 'EXPIRED'] as const;
export type AccessRequestStatus = (typeof ACCESS_REQUEST_STATUSES)[number];
export const LOG_LEVELS = ['INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** How Graph reported a principal; managed identities and enterprise apps are both SERVICE_PRINCIPAL. */
export type PrincipalKind = 'USER' | 'GROUP' | 'SERVICE_PRINCIPAL';

export interface SyncStats {
  users: number;
  managedIdentities: number;
  groups: number;
  enterpriseApplications: number;
  directoryRoles: number;
  grants: number;
  graphRequests: number;
  throttledRequests: number;
  /** Members that are not principals of the model (devices, org contacts), counted and skipped. */
  skippedPrincipals?: number;
  ru?: number;
  [extra: string]: number | undefined;
}

export interface ConnectorsTable {
  id: Generated<string>;
  display_name: string;
  tenant_id: string | null;
  client_id: string | null;
  auth_method: AuthMethod;
  secret_ciphertext: string | null;
  skip_ad_groups: Generated<boolean>;
  graph_base_url: Generated<string>;
  authority_host: Generated<string>;
  status: Generated<ConnectorStatus>;
  status_message: string | null;
  granted_permissions: Generated<string[]>;
  missing_permissions: Generated<string[]>;
  owners: Generated<string[]>;
  incremental_interval_seconds: Generated<number>;
  full_interval_seconds: Generated<number>;
  last_full_sync_at: NullableTimestamp;
  last_incremental_sync_at: NullableTimestamp;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
  /**
   * OAUTH connectors: the organisation (`tid` of a token obtained for it) confirmed by a completed
   * admin consent, and when. A sync runs only while it equals `tenant_id` (see `consentComplete`).
   */
  consented_tenant_id: ColumnType<string | null, string | null | undefined, string | null>;
  consent_verified_at: NullableTimestamp;
}

export interface ResourcesTable {
  id: Generated<string>;
  connector_id: string;
  type: ResourceType;
  external_id: string;
  display_name: Generated<string>;
  profile: Json<Record<string, unknown>>;
  search_text: Generated<string>;
  /** Distinct gram codes of search_text (see search-grams.ts); filled by a trigger when not given. */
  search_grams: Generated<number[]>;
  last_seen_run_id: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

/** Per connector, type and gram (search-grams.ts): how many resources' search_text contain it (migration 0018, kept by triggers). */
export interface ResourceGramCountsTable {
  connector_id: string;
  type: ResourceType;
  gram: number;
  n: number;
}

export interface EntitlementsTable {
  id: Generated<string>;
  connector_id: string;
  key: string;
  resource_external_id: string;
  resource_type: ResourceType;
  slug: string;
  display_name: string;
  grantable: Generated<boolean>;
  app_role_id: string | null;
  metadata: Json<EntitlementMetadata>;
  last_seen_run_id: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export interface EntitlementMetadata {
  allowedMemberTypes?: string[];
  unifiedGroup?: boolean;
  roleAssignable?: boolean;
  [extra: string]: unknown;
}

export interface GrantsTable {
  id: Generated<string>;
  connector_id: string;
  entitlement_key: string;
  principal_external_id: string;
  principal_kind: PrincipalKind;
  direct: boolean;
  via: Generated<string[]>;
  expires_at: NullableTimestamp;
  graph_assignment_id: string | null;
  source: Generated<'sync' | 'provisioning'>;
  last_seen_run_id: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export interface SyncRunsTable {
  id: Generated<string>;
  connector_id: string;
  mode: SyncMode;
  status: Generated<SyncRunStatus>;
  progress: string | null;
  stats: Json<Partial<SyncStats>>;
  error: string | null;
  checkpoint: Json<Record<string, unknown>>;
  attempt: Generated<number>;
  worker_id: string | null;
  heartbeat_at: NullableTimestamp;
  requested_by: string | null;
  queued_at: Generated<Timestamp>;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

export interface DeltaStateTable {
  connector_id: string;
  stream: string;
  delta_link: string;
  updated_at: Generated<Timestamp>;
}

export interface ProvisioningTasksTable {
  id: Generated<string>;
  seq: Generated<string>;
  connector_id: string;
  action: ProvisioningAction;
  entitlement_id: string;
  entitlement_key: string;
  principal_id: string;
  principal_external_id: string;
  status: Generated<ProvisioningStatus>;
  error: string | null;
  requested_by: string;
  /**
   * Whose idempotency key this is: 'user' (the caller in `requested_by`) or 'system' (work the system
   * enqueues itself, e.g. expiry revokes). Keys are unique per (connector, namespace, requested_by).
   */
  namespace: Generated<ProvisioningKeyNamespace>;
  reason: string | null;
  expires_at: NullableTimestamp;
  idempotency_key: string;
  graph_request_id: string | null;
  graph_assignment_id: string | null;
  attempt: Generated<number>;
  requested_at: Generated<Timestamp>;
  started_at: NullableTimestamp;
  completed_at: NullableTimestamp;
}

export interface AuditEventsTable {
  id: Generated<string>;
  at: Generated<Timestamp>;
  actor: string;
  action: string;
  connector_id: string | null;
  details: Json<Record<string, unknown>>;
}

export interface ConnectorLogsTable {
  id: Generated<string>;
  connector_id: string;
  sync_run_id: string | null;
  at: Generated<Timestamp>;
  level: LogLevel;
  message: string;
}

export interface AdminConsentStatesTable {
  state: string;
  connector_id: string;
  subject: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  /** sha256 (hex) of the verifier cookie set by `GET /oauth/start` in the browser that opened it. */
  verifier_hash: ColumnType<string | null, string | null | undefined, string | null>;
  started_at: NullableTimestamp;
  /** A SUPER_ADMIN allowed this consent to bind a tenant another connector already uses. */
  allow_shared_tenant: Generated<boolean>;
}

/** One `GET /auth/login` of the gateway, keyed by its OAuth state (single use). */
export interface BrowserLoginsTable {
  state: string;
  /** sha256 (hex) of the login cookie set in the browser that started it. */
  binding_hash: string;
  nonce: string;
  /** The PKCE code_verifier, sealed with SecretBox. */
  code_verifier: string;
  return_to: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

/** A signed-in browser of the gateway, keyed by the sha256 (hex) of its session cookie. */
export interface BrowserSessionsTable {
  id_hash: string;
  subject: string;
  role: string;
  tid: string | null;
  oid: string | null;
  name: string | null;
  /** The provider's tokens, sealed with SecretBox; never sent to the browser. */
  access_token: string;
  refresh_token: string | null;
  id_token: string | null;
  access_expires_at: Timestamp;
  created_at: Generated<Date>;
  last_seen_at: Timestamp;
  absolute_expires_at: Timestamp;
}

/** A certification campaign (migration 0009). */
export interface AccessReviewsTable {
  id: Generated<string>;
  connector_id: string;
  name: string;
  status: Generated<AccessReviewStatus>;
  reviewers: DeciderKind;
  fallback_subjects: string[];
  due_at: Timestamp;
  auto_revoke: boolean;
  undecided: UndecidedAction;
  inactive_days: number;
  scope: Json<{ entitlementIds?: string[]; resourceTypes?: ResourceType[] }>;
  created_by: string;
  created_by_oid: string | null;
  created_at: Timestamp;
  completed_at: NullableTimestamp;
  completed_by: string | null;
  cancelled_at: NullableTimestamp;
  remediated_at: NullableTimestamp;
  reminded_start_at: NullableTimestamp;
  reminded_due_at: NullableTimestamp;
  escalated_at: NullableTimestamp;
}

/** One direct grant under review, snapshotted when the review started. */
export interface AccessReviewItemsTable {
  id: Generated<string>;
  review_id: string;
  connector_id: string;
  entitlement_id: string;
  entitlement_key: string;
  principal_id: string;
  principal_external_id: string;
  principal_kind: PrincipalKind;
  /** Entra users who decide, by Graph object id within the review's connector. */
  reviewer_oids: Generated<string[]>;
  /** Platform users who decide, by token subject. */
  reviewer_subjects: Generated<string[]>;
  /** Both as one indexed set: 'o:<oid>' and 's:<subject>' (see reviewerKeys in @warden/access-model). */
  reviewer_keys: Generated<string[]>;
  fallback: Generated<boolean>;
  recommendation: ReviewDecision | null;
  recommendation_reason: string | null;
  last_sign_in_at: NullableTimestamp;
  inherited_count: number | null;
  decision: ReviewDecision | null;
  decided_by: string | null;
  decided_by_oid: string | null;
  comment: string | null;
  decided_at: NullableTimestamp;
  remediation_task_id: string | null;
  remediation_attempts: Generated<number>;
  remediation_error: string | null;
  verified_at: NullableTimestamp;
  regranted_at: NullableTimestamp;
}

/** PENDING until every delivery is SENT (→ SENT) or one gave up (→ DEAD). */
export const NOTIFICATION_STATUSES = ['PENDING', 'SENT', 'DEAD'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/** Who a notification is for, as enqueued: a platform token subject and/or a USER resources.id. */
export interface NotificationRecipientJson {
  subject?: string | null;
  resourceId?: string | null;
}

/** A recipient after the governance worker resolved it (see @warden/notifications recipients.ts). */
export interface ResolvedRecipientJson {
  subject: string | null;
  resourceId: string | null;
  displayName: string | null;
  /** Email addresses found for the recipient; empty when none. */
  emails: string[];
}

/** The outbox: one row per notification, written in the transaction of the change it announces. */
export interface NotificationsTable {
  id: Generated<string>;
  kind: string;
  /** Unique: enqueueing the same key again does nothing. */
  dedupe_key: string;
  recipients: Json<NotificationRecipientJson[]>;
  resolved_recipients: ColumnType<
    ResolvedRecipientJson[] | null,
    ResolvedRecipientJson[] | string | null | undefined,
    ResolvedRecipientJson[] | string | null
  >;
  title: string;
  text: string;
  link: string | null;
  data: Json<Record<string, unknown>>;
  created_at: Timestamp;
  status: Generated<NotificationStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  /** When the recipients were resolved and the delivery rows created. */
  expanded_at: NullableTimestamp;
  last_error: string | null;
  sent_at: NullableTimestamp;
}

/** One notification to one address over one channel; DEAD with last_error is the dead-letter record. */
export interface NotificationDeliveriesTable {
  id: Generated<string>;
  notification_id: string;
  channel: string;
  address: string;
  status: Generated<NotificationStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: Timestamp;
  sent_at: NullableTimestamp;
}

/** One approval step of a policy (and, copied, of a request). */
export interface ApprovalStepRecord {
  kind: DeciderKind;
  /** The deciders for USERS; the fallback for the other kinds (token subjects). */
  subjects: string[];
}

/** One person who may decide the current step, as resolved when the step began. */
export interface ApproverRecord {
  /** Token subject of a platform user (USERS, CONNECTOR_OWNER, fallback). */
  subject: string | null;
  /** resources.id of a synced Entra user (MANAGER, RESOURCE_OWNER); they decide by signing in (tid + oid). */
  resourceId: string | null;
  /** The Entra user's Graph object id (token `oid`). */
  oid: string | null;
  displayName: string;
}

export interface AccessPoliciesTable {
  id: Generated<string>;
  connector_id: string;
  /** null: the connector's default policy. */
  entitlement_id: string | null;
  requestable: Generated<boolean>;
  steps: ColumnType<ApprovalStepRecord[], string | undefined, string>;
  max_duration_seconds: number | null;
  require_duration: Generated<boolean>;
  updated_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AccessRequestsTable {
  id: Generated<string>;
  connector_id: string;
  entitlement_id: string;
  entitlement_key: string;
  principal_id: string;
  principal_external_id: string;
  requested_by: string;
  requested_by_oid: string | null;
  justification: string;
  duration_seconds: number | null;
  status: Generated<AccessRequestStatus>;
  status_reason: string | null;
  steps: ColumnType<ApprovalStepRecord[], string, string>;
  current_step: number | null;
  approvers: ColumnType<ApproverRecord[], string | undefined, string>;
  approver_subjects: Generated<string[]>;
  approver_oids: Generated<string[]>;
  /** Approvers of earlier steps (and before an escalation): their late decision is CONFLICT, not FORBIDDEN. */
  former_approvers: ColumnType<ApproverRecord[], string | undefined, string>;
  /** When the current step began; its deadline is this plus the deployment's step timeout. */
  step_started_at: NullableTimestamp;
  /** When the current step was escalated to its fallback (once); the second deadline runs from here. */
  step_escalated_at: NullableTimestamp;
  approved_at: NullableTimestamp;
  provisioning_task_id: string | null;
  expires_at: NullableTimestamp;
  expiry_notified_at: NullableTimestamp;
  idempotency_key: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AccessRequestDecisionsTable {
  id: Generated<number>;
  request_id: string;
  step: number;
  actor: string;
  actor_oid: string | null;
  approved: boolean;
  comment: string | null;
  at: Timestamp;
}

export interface Database {
  connectors: ConnectorsTable;
  resources: ResourcesTable;
  resource_gram_counts: ResourceGramCountsTable;
  entitlements: EntitlementsTable;
  grants: GrantsTable;
  sync_runs: SyncRunsTable;
  delta_state: DeltaStateTable;
  provisioning_tasks: ProvisioningTasksTable;
  audit_events: AuditEventsTable;
  connector_logs: ConnectorLogsTable;
  admin_consent_states: AdminConsentStatesTable;
  browser_logins: BrowserLoginsTable;
  browser_sessions: BrowserSessionsTable;
  access_reviews: AccessReviewsTable;
  access_review_items: AccessReviewItemsTable;
  notifications: NotificationsTable;
  notification_deliveries: NotificationDeliveriesTable;
  access_policies: AccessPoliciesTable;
  access_requests: AccessRequestsTable;
  access_request_decisions: AccessRequestDecisionsTable;
}

export type ConnectorRow = Selectable<ConnectorsTable>;
export type NewConnector = Insertable<ConnectorsTable>;
export type ConnectorUpdate = Updateable<ConnectorsTable>;
export type ResourceRow = Selectable<ResourcesTable>;
export type EntitlementRow = Selectable<EntitlementsTable>;
export type GrantRow = Selectable<GrantsTable>;
export type SyncRunRow = Selectable<SyncRunsTable>;
export type ProvisioningTaskRow = Selectable<ProvisioningTasksTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type ConnectorLogRow = Selectable<ConnectorLogsTable>;
export type AccessReviewRow = Selectable<AccessReviewsTable>;
export type AccessReviewItemRow = Selectable<AccessReviewItemsTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type NotificationDeliveryRow = Selectable<NotificationDeliveriesTable>;
export type AccessPolicyRow = Selectable<AccessPoliciesTable>;
export type AccessRequestRow = Selectable<AccessRequestsTable>;
export type AccessRequestDecisionRow = Selectable<AccessRequestDecisionsTable>;

/**
 * Whether a connector may be synced or provisioned: always for CLIENT_SECRET / CERTIFICATE (their own
 * credentials decide), and for OAUTH only after a verified admin consent for the tenant it names.
 */
export function consentComplete(
  c: Pick<ConnectorRow, 'auth_method' | 'tenant_id' | 'consented_tenant_id' | 'consent_verified_at'>,
): boolean {
  if (c.auth_method !== 'OAUTH') return true;
  return (
    c.consent_verified_at !== null &&
    !!c.tenant_id &&
    !!c.consented_tenant_id &&
    c.tenant_id.toLowerCase() === c.consented_tenant_id.toLowerCase()
  );
}

/** The natural key of an entitlement: `<RESOURCE_TYPE>:<graph object id>:<slug>`. */
export function entitlementKey(resourceType: ResourceType, externalId: string, slug: string): string {
  return `${resourceType}:${externalId}:${slug}`;
}
