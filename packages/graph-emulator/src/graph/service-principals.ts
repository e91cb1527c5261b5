import type { EmulatorCore } from '../core';
import { badRequest, notFound } from '../http/errors';
import type { GraphRequest } from '../http/types';
import type { Entity } from '../tenant/directory';
import { DEFAULT_ACCESS_ROLE } from '../tenant/generate';
import type { JsonObject } from '../types';
import { countResponse, entityResponse, noContent, requireBody } from './common';
import { listResponse } from './list';
import { project } from './query';
import { refTarget } from './refs';
import { renderDirectoryObject } from './render';
import type { Route } from './routes';
import { DIRECTORY_OBJECT_SCHEMA, SCHEMAS } from './schema';

const S = SCHEMAS.servicePrincipal;
const A = SCHEMAS.appRoleAssignment;

/** Resolves "{id}" or the alternate key "(appId='...')" (which arrives as part of the previous segment). */
export function servicePrincipal(core: EmulatorCore, key: string): Entity {
  const sp = core.dir.servicePrincipals.get(key);
  if (sp) return sp;
  throw notFound(key);
}

export function assignmentsOfPrincipal(core: EmulatorCore, principalId: string): readonly Entity[] {
  return core.dir.assignmentsByPrincipal
    .get(principalId)
    .map((id) => core.dir.appRoleAssignments.get(id))
    .filter((a): a is Entity => !!a);
}

function assignedTo(core: EmulatorCore, spId: string): readonly Entity[] {
  return core.dir.assignmentsByResource
    .get(spId)
    .map((id) => core.dir.appRoleAssignments.get(id))
    .filter((a): a is Entity => !!a);
}

function createAssignment(core: EmulatorCore, req: GraphRequest, spId: string) {
  const sp = servicePrincipal(core, spId);
  const body = requireBody(req);
  const principalId = typeof body['principalId'] === 'string' ? body['principalId'].toLowerCase() : '';
  const resourceId = typeof body['resourceId'] === 'string' ? body['resourceId'].toLowerCase() : '';
  const appRoleId = typeof body['appRoleId'] === 'string' ? body['appRoleId'].toLowerCase() : '';
  if (!principalId || !resourceId || !appRoleId) {
    throw badRequest('principalId, resourceId and appRoleId are required.');
  }
  if (resourceId !== sp.id) throw badRequest(`The resourceId '${resourceId}' does not match the service principal in the request URL.`);
  const type = core.dir.typeOf(principalId);
  if (!type) throw notFound(principalId);
  if (type !== 'user' && type !== 'group' && type !== 'servicePrincipal') {
    throw badRequest(`Invalid principal type for principal '${principalId}'.`);
  }
  const roles = (sp['appRoles'] as JsonObject[]) ?? [];
  if (appRoleId !== DEFAULT_ACCESS_ROLE && !roles.some((r) => String(r['id']).toLowerCase() === appRoleId)) {
    throw badRequest(`Permission being assigned was not found on application '${String(sp['appId'])}'.`);
  }
  for (const a of assignedTo(core, sp.id)) {
    if (a['principalId'] === principalId && String(a['appRoleId']).toLowerCase() === appRoleId) {
      throw badRequest('Permission being assigned already exists on the object');
    }
  }
  const { assignment } = core.ops.createAppRoleAssignment(sp, principalId, appRoleId);
  return {
    status: 201,
    headers: { location: `${core.baseUrl}/v1.0/servicePrincipals/${sp.id}/appRoleAssignedTo/${assignment.id}` },
    body: { '@odata.context': `${core.baseUrl}/v1.0/$metadata#servicePrincipals('${sp.id}')/appRoleAssignedTo/$entity`, ...assignment },
  };
}

function ownersList(core: EmulatorCore, req: GraphRequest, spId: string) {
  servicePrincipal(core, spId);
  return listResponse<string>(core, req, {
    contextName: 'directoryObjects',
    schema: DIRECTORY_OBJECT_SCHEMA,
    source: () => core.dir.spOwners.get(spId),
    render: (id, select) => renderDirectoryObject(core, id, select),
  });
}

function assignmentList(core: EmulatorCore, req: GraphRequest, source: () => readonly Entity[], name: string) {
  return listResponse<Entity>(core, req, {
    contextName: name,
    schema: A,
    source,
    asObject: (a) => a,
    render: (a, select) => project(a, select, A),
  });
}

export const servicePrincipalRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/servicePrincipals',
    perm: 'readServicePrincipals',
    handler: (core, req) =>
      listResponse(core, req, {
        contextName: 'servicePrincipals',
        schema: S,
        source: () => core.dir.servicePrincipals.list(),
        asObject: (s) => s,
        render: (s, select) => project(s, select, S),
      }),
  },
  {
    method: 'GET',
    pattern: '/servicePrincipals/$count',
    perm: 'readServicePrincipals',
    handler: (core, req) => countResponse(req, core.dir.servicePrincipals.size),
  },
  {
    method: 'GET',
    pattern: '/servicePrincipals/delta',
    perm: 'readServicePrincipals',
    handler: (core, req) => core.delta.handle('servicePrincipals', req),
  },
  {
    method: 'GET',
    pattern: '/servicePrincipals/:id',
    perm: 'readServicePrincipals',
    handler: (core, req, p) => entityResponse(core.baseUrl, req, 'servicePrincipals', S, servicePrincipal(core, p['id'] as string)),
  },
  {
    method: 'GET',
    pattern: '/servicePrincipals/:id/appRoleAssignedTo',
    perm: 'readAppRoleAssignments',
    handler: (core, req, p) => {
      const sp = servicePrincipal(core, p['id'] as string);
      return assignmentList(core, req, () => assignedTo(core, sp.id), `servicePrincipals('${sp.id}')/appRoleAssignedTo`);
    },
  },
  {
    method: 'GET',
    pattern: '/servicePrincipals/:id/appRoleAssignedTo/:aid',
    perm: 'readAppRoleAssignments',
    handler: (core, req, p) => {
      const sp = servicePrincipal(core, p['id'] as string);
      const a = core.dir.appRoleAssignments.get(p['aid'] as string);
      if (!a || a['resourceId'] !== sp.id) throw notFound(p['aid'] as string);
      return entityResponse(core.baseUrl, req, `servicePrincipals('${sp.id}')/appRoleAssignedTo`, A, a);
    },
  },
  {
    method: 'POST',
    pattern: '/servicePrincipals/:id/appRoleAssignedTo',
    perm: 'writeAppRoleAssignments',
    write: true,
    handler: (core, req, p) => createAssignment(core, req, p['id'] as string),
  },
  {
    method: 'DELETE',
    pattern: '/servicePrincipals/:id/appRoleAssignedTo/:aid',
    perm: 'writeAppRoleAssignments',
    write: true,
    handler: (core, _req, p) => {
      const sp = servicePrincipal(core, p['id'] as string);
      const a = core.dir.appRoleAssignments.get(p['aid'] as string);
      if (!a || a['resourceId'] !== sp.id) throw notFound(p['aid'] as string);
      core.ops.deleteAppRoleAssignment(a.id);
      return noContent();
    },
  },
  {
    method: 'GET',
    pattern: '/servicePrincipals/:id/appRoleAssignments',
    perm: 'readAppRoleAssignments',
    cost: 2,
    handler: (core, req, p) => {
      const sp = servicePrincipal(core, p['id'] as string);
      return assignmentList(core, req, () => assignmentsOfPrincipal(core, sp.id), `servicePrincipals('${sp.id}')/appRoleAssignments`);
    },
  },
  {
    method: 'GET',
    pattern: '/servicePrincipals/:id/owners',
    perm: 'readServicePrincipals',
    handler: (core, req, p) => ownersList(core, req, p['id'] as string),
  },
  {
    method: 'POST',
    pattern: '/servicePrincipals/:id/owners/$ref',
    perm: 'writeServicePrincipalOwners',
    write: true,
    handler: (core, req, p) => {
      const sp = servicePrincipal(core, p['id'] as string);
      const target = refTarget(req);
      const type = core.dir.typeOf(target);
      if (!type) throw notFound(target);
      if (type !== 'user' && type !== 'servicePrincipal') throw badRequest(`Invalid object identifier '${target}'.`);
      if (core.dir.spOwners.has(sp.id, target)) {
        throw badRequest("One or more added object references already exist for the following modified properties: 'owners'.");
      }
      core.ops.addSpOwner(sp.id, target);
      return noContent();
    },
  },
  {
    method: 'DELETE',
    pattern: '/servicePrincipals/:id/owners/:target/$ref',
    perm: 'writeServicePrincipalOwners',
    write: true,
    handler: (core, _req, p) => {
      const sp = servicePrincipal(core, p['id'] as string);
      const target = (p['target'] as string).toLowerCase();
      if (!core.dir.spOwners.has(sp.id, target)) throw notFound(target);
      core.ops.removeSpOwner(sp.id, target);
      return noContent();
    },
  },
  {
    method: 'GET',
    pattern: '/users/:id/appRoleAssignments',
    perm: 'readAppRoleAssignments',
    cost: 2,
    handler: (core, req, p) => {
      const id = p['id'] as string;
      if (!core.dir.users.has(id)) throw notFound(id);
      return assignmentList(core, req, () => assignmentsOfPrincipal(core, id), `users('${id}')/appRoleAssignments`);
    },
  },
  {
    method: 'GET',
    pattern: '/groups/:id/appRoleAssignments',
    perm: 'readAppRoleAssignments',
    cost: 2,
    handler: (core, req, p) => {
      const id = p['id'] as string;
      if (!core.dir.groups.has(id)) throw notFound(id);
      return assignmentList(core, req, () => assignmentsOfPrincipal(core, id), `groups('${id}')/appRoleAssignments`);
    },
  },
];
