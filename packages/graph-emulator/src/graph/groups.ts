import type { EmulatorCore } from '../core';
import { badRequest, forbidden, notFound, unsupportedQuery } from '../http/errors';
import type { GraphRequest, GraphResponse } from '../http/types';
import { allows } from '../identity/permissions';
import type { Entity } from '../tenant/directory';
import type { JsonObject } from '../types';
import { countResponse, entityResponse, noContent, requireBody } from './common';
import { listResponse } from './list';
import { isEventual, project } from './query';
import { alreadyExists, idFromObjectUrl, refTarget } from './refs';
import { renderDirectoryObject } from './render';
import type { Route } from './routes';
import { DIRECTORY_OBJECT_SCHEMA, OBJECT_SCHEMA, SCHEMAS } from './schema';

const S = SCHEMAS.group;
type Rel = 'members' | 'owners';

function group(core: EmulatorCore, id: string): Entity {
  const g = core.dir.groups.get(id);
  if (!g) throw notFound(id);
  return g;
}

const CASTS: Record<string, keyof typeof OBJECT_SCHEMA> = {
  'microsoft.graph.user': 'user',
  'microsoft.graph.group': 'group',
  'microsoft.graph.serviceprincipal': 'servicePrincipal',
  'microsoft.graph.device': 'device',
  'microsoft.graph.orgcontact': 'orgContact',
};

function linkList(core: EmulatorCore, req: GraphRequest, groupId: string, rel: Rel, cast?: string): GraphResponse {
  group(core, groupId);
  const table = rel === 'members' ? core.dir.groupMembers : core.dir.groupOwners;
  const castType = cast ? CASTS[cast.toLowerCase()] : undefined;
  if (cast && !castType) throw badRequest(`Resource not found for the segment '${cast}'.`, 'BadRequest');
  return listResponse<string>(core, req, {
    contextName: castType ? `${castType}s` : 'directoryObjects',
    schema: castType ? OBJECT_SCHEMA[castType] : DIRECTORY_OBJECT_SCHEMA,
    source: () => {
      const ids = table.get(groupId);
      return castType ? ids.filter((id) => core.dir.typeOf(id) === castType) : ids;
    },
    render: (id, select) => renderDirectoryObject(core, id, select),
    asObject: (id) => core.dir.getObject(id),
    checkFilter: (_adv, r) => {
      // Filtering directory-object links is an advanced query.
      if (!isEventual(r)) throw unsupportedQuery();
    },
  });
}

/** Adding to a role-assignable group also needs RoleManagement.ReadWrite.Directory. */
function checkRoleAssignable(req: GraphRequest, g: Entity): void {
  if (g['isAssignableToRole'] === true && !allows(req.claims?.roles ?? [], 'writeRoleAssignments')) throw forbidden();
}

function addLink(core: EmulatorCore, req: GraphRequest, groupId: string, rel: Rel, target: string): void {
  const g = group(core, groupId);
  checkRoleAssignable(req, g);
  const type = core.dir.typeOf(target);
  if (!type) throw notFound(target);
  if (rel === 'owners' && type !== 'user' && type !== 'servicePrincipal') {
    throw badRequest(`Invalid object identifier '${target}'.`);
  }
  const table = rel === 'members' ? core.dir.groupMembers : core.dir.groupOwners;
  if (table.has(groupId, target)) throw alreadyExists(rel);
  core.ops.addGroupLink(rel, groupId, target);
}

function removeLink(core: EmulatorCore, req: GraphRequest, groupId: string, rel: Rel, target: string): GraphResponse {
  const g = group(core, groupId);
  checkRoleAssignable(req, g);
  const table = rel === 'members' ? core.dir.groupMembers : core.dir.groupOwners;
  if (!table.has(groupId, target)) throw notFound(target);
  const unified = Array.isArray(g['groupTypes']) && (g['groupTypes'] as string[]).includes('Unified');
  if (rel === 'owners' && unified && table.get(groupId).length === 1) {
    throw badRequest('The group must have at least one owner, hence this owner cannot be removed.');
  }
  core.ops.removeGroupLink(rel, groupId, target);
  return noContent();
}

const PATCHABLE = new Set(['displayName', 'description', 'mailNickname', 'visibility']);

/** PATCH /groups/{id}: simple properties and members@odata.bind / owners@odata.bind (≤ 20, all or nothing). */
function patchGroup(core: EmulatorCore, req: GraphRequest, id: string): GraphResponse {
  const g = group(core, id);
  const body = requireBody(req);
  const binds: [Rel, string[]][] = [];
  const props: JsonObject = {};
  let total = 0;
  for (const [k, v] of Object.entries(body)) {
    if (k === 'members@odata.bind' || k === 'owners@odata.bind') {
      if (!Array.isArray(v)) throw badRequest(`Invalid value for '${k}'.`);
      const ids = v.map((x) => idFromObjectUrl(String(x)));
      total += ids.length;
      binds.push([k.startsWith('members') ? 'members' : 'owners', ids]);
    } else if (PATCHABLE.has(k)) {
      props[k] = v;
    } else if (S.props.has(k.toLowerCase())) {
      throw badRequest(`Property '${k}' is read-only and cannot be set.`);
    } else {
      throw badRequest(`Property '${k}' does not exist as a declared property or extension property.`);
    }
  }
  if (total > 20) throw badRequest('The maximum number of references that can be added in a single request is 20.');
  if (binds.length) checkRoleAssignable(req, g);
  // Validate everything before changing anything.
  for (const [rel, ids] of binds) {
    const table = rel === 'members' ? core.dir.groupMembers : core.dir.groupOwners;
    for (const t of ids) {
      if (!core.dir.typeOf(t)) throw notFound(t);
      if (table.has(id, t)) throw alreadyExists(rel);
    }
  }
  for (const [rel, ids] of binds) for (const t of ids) core.ops.addGroupLink(rel, id, t);
  if (Object.keys(props).length) core.ops.updateObject('groups', id, props);
  return noContent();
}

export const groupRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/groups',
    perm: 'readGroups',
    handler: (core, req) =>
      listResponse(core, req, {
        contextName: 'groups',
        schema: S,
        source: () => core.dir.groups.list(),
        asObject: (g) => g,
        render: (g, select) => project(g, select, S),
      }),
  },
  { method: 'GET', pattern: '/groups/$count', perm: 'readGroups', handler: (core, req) => countResponse(req, core.dir.groups.size) },
  { method: 'GET', pattern: '/groups/delta', perm: 'readGroups', handler: (core, req) => core.delta.handle('groups', req) },
  {
    method: 'GET',
    pattern: '/groups/:id',
    perm: 'readGroups',
    handler: (core, req, p) => entityResponse(core.baseUrl, req, 'groups', S, group(core, p['id'] as string)),
  },
  {
    method: 'PATCH',
    pattern: '/groups/:id',
    perm: 'writeGroupMembers',
    write: true,
    handler: (core, req, p) => {
      const body = requireBody(req);
      if ('owners@odata.bind' in body && !allows(req.claims?.roles ?? [], 'writeGroupOwners')) throw forbidden();
      return patchGroup(core, req, p['id'] as string);
    },
  },
  ...(['members', 'owners'] as const).flatMap((rel): Route[] => [
    {
      method: 'GET',
      pattern: `/groups/:id/${rel}`,
      perm: 'readGroups',
      cost: rel === 'members' ? 3 : 1,
      handler: (core, req, p) => linkList(core, req, p['id'] as string, rel),
    },
    {
      method: 'GET',
      pattern: `/groups/:id/${rel}/:cast`,
      perm: 'readGroups',
      cost: rel === 'members' ? 3 : 1,
      handler: (core, req, p) => linkList(core, req, p['id'] as string, rel, p['cast']),
    },
    {
      method: 'GET',
      pattern: `/groups/:id/${rel}/$count`,
      perm: 'readGroups',
      handler: (core, req, p) =>
        countResponse(
          req,
          (group(core, p['id'] as string),
          (rel === 'members' ? core.dir.groupMembers : core.dir.groupOwners).get(p['id'] as string).length),
        ),
    },
    {
      method: 'POST',
      pattern: `/groups/:id/${rel}/$ref`,
      perm: rel === 'members' ? 'writeGroupMembers' : 'writeGroupOwners',
      write: true,
      handler: (core, req, p) => {
        addLink(core, req, p['id'] as string, rel, refTarget(req));
        return noContent();
      },
    },
    {
      method: 'DELETE',
      pattern: `/groups/:id/${rel}/:target/$ref`,
      perm: rel === 'members' ? 'writeGroupMembers' : 'writeGroupOwners',
      write: true,
      handler: (core, req, p) => removeLink(core, req, p['id'] as string, rel, (p['target'] as string).toLowerCase()),
    },
  ]),
];
