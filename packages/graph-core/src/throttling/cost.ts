/**
 * Resource-unit cost of a request, from Graph's identity-and-access cost table and its modifiers
 * ($select −1, $expand +1, $top < 20 −1, minimum 1). Unlisted paths cost 1.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function baseCost(method: string, segments: string[]): number {
  if (method !== 'GET')
    return segments.at(-1) === 'getByIds' ? 3 : segments.some((s) => s === 'isMemberOf' || s === 'checkMemberGroups') ? 4 : 1;
  const [first, second, third] = segments;
  if (segments.length === 1 && (first === 'users' || first === 'applications' || first === 'oauth2PermissionGrants')) return 2;
  if (first === 'groups' && second && third === 'members') return 3;
  if (first === 'groups' && second && third === 'transitiveMembers') return 5;
  if (first === 'servicePrincipals' && second && third === 'appRoleAssignments') return 2;
  if (first === 'subscribedSkus' || first === 'contracts') return 3;
  if ((first === 'me' && second) || (first === 'users' && second && third)) return 2;
  return 1;
}

export function estimateCost(method: string, url: URL): number {
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments[0] === 'v1.0' || segments[0] === 'beta') segments.shift();
  let cost = baseCost(method, segments);
  const q = url.searchParams;
  if (q.has('$select')) cost -= 1;
  if (q.has('$expand')) cost += 1;
  const top = Number(q.get('$top'));
  if (Number.isFinite(top) && top > 0 && top < 20) cost -= 1;
  return Math.max(1, cost);
}

/** 'GET /groups/{id}/members' — ids and tokens stripped so counters group by route. */
export function routeOf(method: string, url: URL): string {
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments[0] === 'v1.0' || segments[0] === 'beta') segments.shift();
  const shape = segments.map((s) => (GUID.test(s) || /^[A-Za-z0-9_-]{20,}$/.test(s) || s.includes('@') ? '{id}' : s));
  return `${method} /${shape.join('/')}`;
}
