import { ENTITLEMENT_KINDS } from '@warden/access-model';
import { addReference, probeReference, removeReference, type ReferenceLink } from './directory-reference';
import type { Operation } from './types';

const link: ReferenceLink = {
  collection: (i) => `/v1.0/servicePrincipals/${i.resourceId}/owners`,
  permissions: ENTITLEMENT_KINDS.APP_OWNER.write,
};

export const appOwnership: Operation = {
  kind: 'APP_OWNER',
  permissions: link.permissions,
  grant: (i) => addReference(link, i),
  revoke: (i) => removeReference(link, i),
  probe: (i) => probeReference(link, i),
};
