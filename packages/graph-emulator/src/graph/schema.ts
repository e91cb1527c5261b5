/** Per entity type: the properties Graph knows, the default $select set, and the OData type name. */

export interface EntitySchema {
  odataType: string;
  /** Lower-cased name -> canonical name. */
  props: Map<string, string>;
  /** Properties returned without $select (null = every stored property). */
  defaults: readonly string[] | null;
  /** Properties that exist but cannot be read in a collection (501 for users). */
  notInCollections?: Set<string>;
}

function schema(odataType: string, props: string[], defaults: string[] | null, notInCollections?: string[]): EntitySchema {
  const m = new Map<string, string>();
  for (const p of props) m.set(p.toLowerCase(), p);
  if (defaults) for (const p of defaults) m.set(p.toLowerCase(), p);
  const nic = notInCollections ? new Set(notInCollections.map((x) => x.toLowerCase())) : undefined;
  if (notInCollections) for (const p of notInCollections) m.set(p.toLowerCase(), p);
  return { odataType, props: m, defaults, ...(nic ? { notInCollections: nic } : {}) };
}

export const USER_DEFAULTS = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

export const SCHEMAS = {
  user: schema(
    '#microsoft.graph.user',
    [
      'id',
      'displayName',
      'givenName',
      'surname',
      'userPrincipalName',
      'mail',
      'mailNickname',
      'jobTitle',
      'department',
      'officeLocation',
      'mobilePhone',
      'businessPhones',
      'preferredLanguage',
      'accountEnabled',
      'userType',
      'employeeId',
      'companyName',
      'usageLocation',
      'createdDateTime',
      'onPremisesSyncEnabled',
      'externalUserState',
      'creationType',
      'deletedDateTime',
      'signInActivity',
      'onPremisesImmutableId',
      'onPremisesSamAccountName',
      'onPremisesLastSyncDateTime',
      'onPremisesDistinguishedName',
      'onPremisesDomainName',
      'onPremisesUserPrincipalName',
      'otherMails',
      'proxyAddresses',
      'identities',
      'city',
      'country',
      'state',
      'streetAddress',
      'postalCode',
      'faxNumber',
      'employeeType',
      'employeeHireDate',
      'ageGroup',
      'lastPasswordChangeDateTime',
      'securityIdentifier',
      'showInAddressList',
      'passwordPolicies',
      'assignedLicenses',
      'assignedPlans',
      'externalUserStateChangeDateTime',
      'imAddresses',
      'legalAgeGroupClassification',
      'consentProvidedForMinor',
      'preferredDataLocation',
      'refreshTokensValidFromDateTime',
      'signInSessionsValidFromDateTime',
    ],
    USER_DEFAULTS,
    [
      'aboutMe',
      'birthday',
      'hireDate',
      'interests',
      'mySite',
      'pastProjects',
      'preferredName',
      'responsibilities',
      'schools',
      'skills',
      'mailboxSettings',
    ],
  ),
  group: schema(
    '#microsoft.graph.group',
    [
      'id',
      'displayName',
      'description',
      'mailNickname',
      'mail',
      'mailEnabled',
      'securityEnabled',
      'groupTypes',
      'visibility',
      'isAssignableToRole',
      'membershipRule',
      'membershipRuleProcessingState',
      'onPremisesSyncEnabled',
      'onPremisesSamAccountName',
      'createdDateTime',
      'renewedDateTime',
      'classification',
      'securityIdentifier',
      'proxyAddresses',
      'deletedDateTime',
      'expirationDateTime',
      'onPremisesLastSyncDateTime',
      'onPremisesSecurityIdentifier',
      'onPremisesDomainName',
      'onPremisesNetBiosName',
      'preferredDataLocation',
      'preferredLanguage',
      'theme',
      'resourceBehaviorOptions',
      'resourceProvisioningOptions',
      'creationOptions',
      'onPremisesProvisioningErrors',
      'serviceProvisioningErrors',
    ],
    null,
  ),
  servicePrincipal: schema(
    '#microsoft.graph.servicePrincipal',
    [
      'id',
      'appId',
      'displayName',
      'accountEnabled',
      'servicePrincipalType',
      'appRoleAssignmentRequired',
      'appRoles',
      'tags',
      'appOwnerOrganizationId',
      'servicePrincipalNames',
      'alternativeNames',
      'appDisplayName',
      'signInAudience',
      'description',
      'homepage',
      'deletedDateTime',
      'appDescription',
      'applicationTemplateId',
      'disabledByMicrosoftStatus',
      'info',
      'keyCredentials',
      'passwordCredentials',
      'loginUrl',
      'logoutUrl',
      'notes',
      'notificationEmailAddresses',
      'oauth2PermissionScopes',
      'preferredSingleSignOnMode',
      'preferredTokenSigningKeyThumbprint',
      'replyUrls',
      'resourceSpecificApplicationPermissions',
      'samlSingleSignOnSettings',
      'tokenEncryptionKeyId',
      'verifiedPublisher',
      'addIns',
    ],
    null,
  ),
  device: schema(
    '#microsoft.graph.device',
    ['id', 'deviceId', 'displayName', 'operatingSystem', 'accountEnabled', 'deletedDateTime'],
    null,
  ),
  orgContact: schema(
    '#microsoft.graph.orgContact',
    ['id', 'displayName', 'givenName', 'surname', 'mail', 'companyName', 'deletedDateTime'],
    null,
  ),
  appRoleAssignment: schema(
    '#microsoft.graph.appRoleAssignment',
    [
      'id',
      'deletedDateTime',
      'appRoleId',
      'createdDateTime',
      'principalDisplayName',
      'principalId',
      'principalType',
      'resourceDisplayName',
      'resourceId',
    ],
    null,
  ),
  directoryRole: schema('#microsoft.graph.directoryRole', ['id', 'deletedDateTime', 'description', 'displayName', 'roleTemplateId'], null),
  roleDefinition: schema(
    '#microsoft.graph.unifiedRoleDefinition',
    ['id', 'displayName', 'description', 'isBuiltIn', 'isEnabled', 'templateId', 'version', 'resourceScopes', 'rolePermissions'],
    null,
  ),
  administrativeUnit: schema(
    '#microsoft.graph.administrativeUnit',
    ['id', 'displayName', 'description', 'visibility', 'membershipType'],
    null,
  ),
  application: schema('#microsoft.graph.application', ['id', 'appId', 'displayName', 'signInAudience', 'createdDateTime'], null),
  roleAssignment: schema(
    '#microsoft.graph.unifiedRoleAssignment',
    ['id', 'principalId', 'resourceScope', 'directoryScopeId', 'roleDefinitionId', 'appScopeId', 'condition'],
    null,
  ),
  roleEligibilitySchedule: schema(
    '#microsoft.graph.unifiedRoleEligibilitySchedule',
    [
      'id',
      'principalId',
      'roleDefinitionId',
      'directoryScopeId',
      'appScopeId',
      'memberType',
      'status',
      'createdUsing',
      'createdDateTime',
      'modifiedDateTime',
      'scheduleInfo',
    ],
    null,
  ),
} as const satisfies Record<string, EntitySchema>;

export type SchemaName = keyof typeof SCHEMAS;

export const OBJECT_SCHEMA: Record<'user' | 'group' | 'servicePrincipal' | 'device' | 'orgContact', EntitySchema> = {
  user: SCHEMAS.user,
  group: SCHEMAS.group,
  servicePrincipal: SCHEMAS.servicePrincipal,
  device: SCHEMAS.device,
  orgContact: SCHEMAS.orgContact,
};

/** directoryObject collections (members, owners) accept the properties of every member type. */
export const DIRECTORY_OBJECT_SCHEMA: EntitySchema = (() => {
  const props = new Map<string, string>();
  for (const sc of Object.values(OBJECT_SCHEMA)) for (const [k, v] of sc.props) props.set(k, v);
  return { odataType: '#microsoft.graph.directoryObject', props, defaults: null };
})();
