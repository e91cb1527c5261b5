import { addReference, probeReference, removeReference, type ReferenceLink } from './directory-reference';
import type { Operation } from './types';

const link: ReferenceLink = {
  collection: (i) => `/v1.0/groups/${i.resourceId}/members`,
  permissions: ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
};

export const groupMembership: Operation = {
  kind: 'GROUP_MEMBER',
  permissions: link.permissions,
  grant: (i) => addReference(link, i),
  revoke: (i) => removeReference(link, i),
  probe: (i) => probeReference(link, i),
};
