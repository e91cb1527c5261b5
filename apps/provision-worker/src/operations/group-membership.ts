import { ENTITLEMENT_KINDS } from '@warden/access-model';
import { addReference, probeReference, removeReference, type ReferenceLink } from './directory-reference';
import type { Operation } from './types';

const link: ReferenceLink = {
  collection: (i) => `/v1.0/groups/${i.resourceId}/members`,
  permissions: ENTITLEMENT_KINDS.GROUP_MEMBER.write,
};

export const groupMembership: Operation = {
  kind: 'GROUP_MEMBER',
  permissions: link.permissions,
  grant: (i) => addReference(link, i),
  revoke: (i) => removeReference(link, i),
  probe: (i) => probeReference(link, i),
};
