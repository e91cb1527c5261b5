import { Extensions, Field, ID, ObjectType } from 'type-graphql';
import { reads } from '../../response-cache/read-scope';
import type { AuthMethod, ConnectorRow, ConnectorStatus } from '@warden/database';
import { connectionTypes } from '../../pagination/connection-types';
import { asDate } from '../shared/dates';
import { AuthMethodEnum, ConnectorStatusEnum } from '../shared/enums';
import { DateTimeScalar } from '../shared/scalars';
import { missingPermissions } from './permissions';

@Extensions(reads('connectors'))
@ObjectType({ simpleResolvers: true })
export class Connector {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  displayName!: string;

  @Field(() => String, { nullable: true })
  tenantId!: string | null;

  @Field(() => String, { nullable: true })
  clientId!: string | null;

  @Field(() => AuthMethodEnum)
  authMethod!: AuthMethod;

  @Field(() => Boolean)
  skipAdGroups!: boolean;

  @Field(() => String, { description: 'Microsoft Graph root, e.g. https://graph.microsoft.com (national clouds and the emulator differ).' })
  graphBaseUrl!: string;

  @Field(() => String, { description: 'Token authority, e.g. https://login.microsoftonline.com.' })
  authorityHost!: string;

  @Field(() => ConnectorStatusEnum)
  status!: ConnectorStatus;

  @Field(() => String, {
    nullable: true,
    description: "Why the status is what it is, e.g. the identity platform's error for bad credentials.",
  })
  statusMessage!: string | null;

  @Field(() => [String], {
    description: 'Graph application permissions the connector needs for sync and provisioning but was not granted.',
  })
  missingPermissions!: string[];

  @Field(() => [String], { description: "Graph application permissions seen in the connector's last token." })
  grantedPermissions!: string[];

  @Field(() => [String], {
    description: 'Of the read-only set (what sync needs), the permissions not granted; the console lists them in the Add connector wizard.',
  })
  missingReadPermissions!: string[];

  @Field(() => [String], { description: 'Of the provisioning set (what grant and revoke need), the permissions not granted.' })
  missingProvisioningPermissions!: string[];

  @Field(() => [String], { description: 'Owners are users of this platform (token subjects), not Entra users.' })
  owners!: string[];

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;
}

/** Every connector column except the sealed credentials, which no read path may select. */
export const CONNECTOR_PUBLIC_COLUMNS = [
  'id',
  'display_name',
  'tenant_id',
  'client_id',
  'auth_method',
  'skip_ad_groups',
  'graph_base_url',
  'authority_host',
  'status',
  'status_message',
  'granted_permissions',
  'missing_permissions',
  'owners',
  'incremental_interval_seconds',
  'full_interval_seconds',
  'last_full_sync_at',
  'last_incremental_sync_at',
  'created_at',
  'updated_at',
] as const;
export type ConnectorPublicRow = Omit<ConnectorRow, 'secret_ciphertext' | 'consented_tenant_id' | 'consent_verified_at'>;

/**
 * A Connector whose two permission splits are worked out on first read: every read path maps its
 * rows with toConnector, and few answers select them (a dashboard's list of connectors does not).
 * Still a Connector (asInstance explains why that matters).
 */
const LAZY_CONNECTOR: object = Object.create(Connector.prototype, {
  missingReadPermissions: {
    enumerable: true,
    get(this: Connector & { split?: Split }): string[] {
      return (this.split ??= splitMissing(this.grantedPermissions)).missingReadPermissions;
    },
  },
  missingProvisioningPermissions: {
    enumerable: true,
    get(this: Connector & { split?: Split }): string[] {
      return (this.split ??= splitMissing(this.grantedPermissions)).missingProvisioningPermissions;
    },
  },
}) as object;

export function toConnector(row: ConnectorPublicRow): Connector {
  return Object.assign(Object.create(LAZY_CONNECTOR) as Connector, {
    id: row.id,
    displayName: row.display_name,
    tenantId: row.tenant_id,
    clientId: row.client_id,
    authMethod: row.auth_method,
    skipAdGroups: row.skip_ad_groups,
    graphBaseUrl: row.graph_base_url,
    authorityHost: row.authority_host,
    status: row.status,
    statusMessage: row.status_message,
    missingPermissions: row.missing_permissions,
    grantedPermissions: row.granted_permissions,
    owners: row.owners,
    createdAt: asDate(row.created_at),
    updatedAt: asDate(row.updated_at),
  } satisfies Omit<Connector, keyof Split>);
}

type Split = Pick<Connector, 'missingReadPermissions' | 'missingProvisioningPermissions'>;

/** The two sets of reference/access-model.md, so a person sees which grant is still to be made where. */
function splitMissing(granted: string[]): Split {
  const m = missingPermissions(granted);
  return { missingReadPermissions: [...m.forSync].sort(), missingProvisioningPermissions: [...m.forProvisioning].sort() };
}

export const { EdgeType: ConnectorEdge, ConnectionType: ConnectorConnection } = connectionTypes(Connector, 'Connector');

@ObjectType({ simpleResolvers: true })
export class AdminConsentStart {
  @Field(() => String)
  authorizationUrl!: string;

  @Field(() => String)
  state!: string;

  @Field(() => String, {
    description:
      "Open this in the admin's browser (not authorizationUrl directly): the gateway binds the consent to that browser with a cookie and redirects to authorizationUrl; the callback refuses the consent from any other browser.",
  })
  startUrl!: string;
}
