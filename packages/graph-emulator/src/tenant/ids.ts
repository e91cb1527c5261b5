/** Graph object-id helpers: the id formats Graph uses for assignments, derived from GUID bytes. */

/** The 16 bytes of a GUID in Microsoft's mixed-endian layout (first three groups little-endian). */
export function guidBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out[0] = b[3] ?? 0;
  out[1] = b[2] ?? 0;
  out[2] = b[1] ?? 0;
  out[3] = b[0] ?? 0;
  out[4] = b[5] ?? 0;
  out[5] = b[4] ?? 0;
  out[6] = b[7] ?? 0;
  out[7] = b[6] ?? 0;
  b.copy(out, 8, 8, 16);
  return out;
}

/** appRoleAssignment ids: base64url of the principal's GUID bytes plus 16 more bytes. */
export function appRoleAssignmentId(principalId: string, extra: Buffer): string {
  return Buffer.concat([guidBytes(principalId), extra.subarray(0, 16)]).toString('base64url');
}

/** unifiedRoleAssignment ids: base64url(roleDefinitionId bytes + principalId bytes [+ scope bytes]) + "-1". */
export function roleAssignmentId(roleDefinitionId: string, principalId: string, scopeObjectId?: string): string {
  const parts = [guidBytes(roleDefinitionId), guidBytes(principalId)];
  if (scopeObjectId) parts.push(guidBytes(scopeObjectId));
  return `${Buffer.concat(parts).toString('base64url')}-1`;
}

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}
