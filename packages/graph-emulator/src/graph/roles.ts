import type { EmulatorCore } from '../core';
import { GraphError, badRequest, notFound } from '../http/errors';
import type { GraphRequest, GraphResponse } from '../http/types';
import type { Entity } from '../tenant/directory';
import { roleAllowedOverAdministrativeUnit } from '../tenant/admin-units';
import { roleAllowedOverApplication, scopeObjectId } from '../tenant/applications';
import { roleAssignmentId } from '../tenant/ids';
import type { JsonObject } from '../types';
import { entityResponse, noContent, requireBody } from './common';
import { listResponse } from './list';
import { project } from './query';
import { renderDirectoryObject } from './render';
import type { Route } from './routes';
import { DIRECTORY_OBJECT_SCHEMA, SCHEMAS } from './schema';

const RM = '/roleManagement/directory';

function directoryRole(core: EmulatorCore, id: string): Entity {
  const r = core.dir.directoryRoles.get(id);
  if (!r) throw notFound(id);
  return r;
}

function principalOrThrow(core: EmulatorCore, id: string): void {
  const t = core.dir.typeOf(id);
  if (!t) throw notFound(id);
  if (t !== 'user' && t !== 'group' && t !== 'servicePrincipal') throw badRequest(`Invalid principal '${id}'.`);
}

function definitionOrThrow(core: EmulatorCore, id: string): Entity {
  const d = core.dir.roleDefinitions.get(id);
  if (!d) throw notFound(id);
  return d;
}

function str(body: JsonObject, k: string): string {
  const v = body[k];
  return typeof v === 'string' ? v : '';
}

function createRoleAssignment(core: EmulatorCore, req: GraphRequest): GraphResponse {
  const body = requireBody(req);
  const roleDefinitionId = str(body, 'roleDefinitionId').toLowerCase();
  const principalId = str(body, 'principalId').toLowerCase();
  const scope = str(body, 'directoryScopeId') || '/';
  if (!roleDefinitionId || !principalId) throw badRequest('roleDefinitionId and principalId are required.');
  const def = definitionOrThrow(core, roleDefinitionId);
  principalOrThrow(core, principalId);
  if (scope !== '/' && !/^\/(administrativeUnits\/)?[0-9a-f-]{36}$/i.test(scope)) throw badRequest(`Invalid directoryScopeId '${scope}'.`);
  const overUnit = scope.startsWith('/administrativeUnits/');
  const scopeObj = scopeObjectId(scope);
  // Over an administrative unit: the unit must exist and Graph must allow the role there.
  if (overUnit && !core.dir.administrativeUnits.has(scopeObj!))
    throw badRequest(`Invalid directoryScopeId '${scope}': the administrative unit does not exist.`);
  if (overUnit && !roleAllowedOverAdministrativeUnit(def))
    throw badRequest(`The role '${String(def['displayName'])}' cannot be assigned at an administrative unit scope.`);
  // Over one application: the app registration (its object id, not its appId) must exist here.
  if (scopeObj !== undefined && !overUnit && !core.dir.applications.has(scopeObj))
    throw badRequest(`Invalid directoryScopeId '${scope}': no application with this object id.`);
  if (scopeObj !== undefined && !overUnit && !roleAllowedOverApplication(def))
    throw badRequest(`The role '${String(def['displayName'])}' cannot be assigned at an application scope.`);
  if (
    core.dir.roleAssignments.has(roleAssignmentId(roleDefinitionId, principalId, scopeObj)) ||
    core.dir.roleAssignments
      .list()
      .some((a) => a['roleDefinitionId'] === roleDefinitionId && a['principalId'] === principalId && a['directoryScopeId'] === scope)
  ) {
    throw badRequest('A conflicting object with one or more of the specified property values is present in the directory.');
  }
  const { assignment } = core.ops.createRoleAssignment(
    roleDefinitionId,
    principalId,
    scopeObj === undefined ? '/' : overUnit ? `/administrativeUnits/${scopeObj}` : `/${scopeObj}`,
  );
  return {
    status: 201,
    headers: {},
    body: { '@odata.context': `${core.baseUrl}/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity`, ...assignment },
  };
}

function eligibilityRequest(core: EmulatorCore, req: GraphRequest): GraphResponse {
  const body = requireBody(req);
  const action = str(body, 'action');
  const roleDefinitionId = str(body, 'roleDefinitionId').toLowerCase();
  const principalId = str(body, 'principalId').toLowerCase();
  const scope = str(body, 'directoryScopeId') || '/';
  if (!roleDefinitionId || !principalId) throw badRequest('roleDefinitionId and principalId are required.');
  definitionOrThrow(core, roleDefinitionId);
  principalOrThrow(core, principalId);
  const existing = core.dir.roleEligibilitySchedules
    .list()
    .find((s) => s['principalId'] === principalId && s['roleDefinitionId'] === roleDefinitionId && s['directoryScopeId'] === scope);
  const now = new Date().toISOString();
  const base: JsonObject = {
    id: core.rng.guid(),
    action,
    principalId,
    roleDefinitionId,
    directoryScopeId: scope,
    appScopeId: null,
    isValidationOnly: false,
    justification: typeof body['justification'] === 'string' ? body['justification'] : null,
    createdDateTime: now,
    completedDateTime: now,
    approvalId: null,
    customData: null,
    createdBy: { application: { id: req.claims?.appid ?? null, displayName: req.claims?.app_displayname ?? null }, user: null },
    ticketInfo: (body['ticketInfo'] as JsonObject | undefined) ?? { ticketNumber: null, ticketSystem: null },
  };
  let status: string;
  let schedule: Entity | undefined;
  if (action === 'adminAssign') {
    if (existing) throw new GraphError(400, 'RoleAssignmentExists', 'The Role assignment already exists.');
    const si = (body['scheduleInfo'] as JsonObject | undefined) ?? {};
    const exp = (si['expiration'] as JsonObject | undefined) ?? { type: 'noExpiration' };
    const type = typeof exp['type'] === 'string' ? exp['type'] : 'noExpiration';
    if (!['noExpiration', 'afterDateTime', 'afterDuration'].includes(type)) throw badRequest(`Invalid expiration type '${type}'.`);
    if (type === 'afterDateTime' && (typeof exp['endDateTime'] !== 'string' || Number.isNaN(Date.parse(exp['endDateTime'])))) {
      throw badRequest('expiration.endDateTime is required for afterDateTime.');
    }
    const scheduleInfo: JsonObject = {
      startDateTime: typeof si['startDateTime'] === 'string' ? si['startDateTime'] : now,
      recurrence: null,
      expiration: {
        type,
        endDateTime: typeof exp['endDateTime'] === 'string' ? exp['endDateTime'] : null,
        duration: typeof exp['duration'] === 'string' ? exp['duration'] : null,
      },
    };
    schedule = core.ops.createEligibility({ principalId, roleDefinitionId, directoryScopeId: scope, scheduleInfo }).schedule;
    status = 'Provisioned';
    base['scheduleInfo'] = scheduleInfo;
  } else if (action === 'adminRemove') {
    if (!existing) throw new GraphError(400, 'RoleAssignmentDoesNotExist', 'The Role assignment does not exist.');
    core.ops.deleteEligibility(existing.id);
    schedule = existing;
    status = 'Revoked';
    base['scheduleInfo'] = existing['scheduleInfo'] ?? null;
  } else {
    throw badRequest(`The action '${action}' is not supported by this emulator (adminAssign and adminRemove are).`);
  }
  base['status'] = status;
  base['targetScheduleId'] = schedule.id;
  return {
    status: 201,
    headers: {},
    body: { '@odata.context': `${core.baseUrl}/v1.0/$metadata#roleManagement/directory/roleEligibilityScheduleRequests/$entity`, ...base },
  };
}

function simpleList(
  name: string,
  schema: (typeof SCHEMAS)[keyof typeof SCHEMAS],
  source: (core: EmulatorCore) => readonly Entity[],
  perm: Route['perm'],
): Route[] {
  return [
    {
      method: 'GET',
      pattern: `${RM}/${name}`,
      perm,
      handler: (core, req) =>
        listResponse(core, req, {
          contextName: `roleManagement/directory/${name}`,
          schema,
          source: () => source(core),
          asObject: (o) => o,
          render: (o, select) => project(o, select, schema),
        }),
    },
    {
      method: 'GET',
      pattern: `${RM}/${name}/:id`,
      perm,
      handler: (core, req, p) => {
        const o = source(core).find((x) => x.id === p['id']);
        if (!o) throw notFound(p['id'] as string);
        return entityResponse(core.baseUrl, req, `roleManagement/directory/${name}`, schema, o);
      },
    },
  ];
}

export const roleRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/directoryRoles',
    perm: 'readDirectoryRoles',
    handler: (core, req) =>
      listResponse(core, req, {
        contextName: 'directoryRoles',
        schema: SCHEMAS.directoryRole,
        unpaged: true,
        source: () => core.dir.directoryRoles.list(),
        asObject: (o) => o,
        render: (o, s) => project(o, s, SCHEMAS.directoryRole),
      }),
  },
  {
    method: 'GET',
    pattern: '/directoryRoles/delta',
    perm: 'readDirectoryRoles',
    handler: (core, req) => core.delta.handle('directoryRoles', req),
  },
  {
    method: 'GET',
    pattern: '/directoryRoles/:id',
    perm: 'readDirectoryRoles',
    handler: (core, req, p) =>
      entityResponse(core.baseUrl, req, 'directoryRoles', SCHEMAS.directoryRole, directoryRole(core, p['id'] as string)),
  },
  {
    method: 'GET',
    pattern: '/directoryRoles/:id/members',
    perm: 'readDirectoryRoles',
    handler: (core, req, p) => {
      const role = directoryRole(core, p['id'] as string);
      return listResponse<string>(core, req, {
        contextName: 'directoryObjects',
        schema: DIRECTORY_OBJECT_SCHEMA,
        unpaged: true,
        source: () => core.dir.directoryRoleMembers(role.id),
        render: (id, s) => renderDirectoryObject(core, id, s),
      });
    },
  },
  {
    method: 'GET',
    pattern: '/directoryRoleTemplates',
    perm: 'readDirectoryRoles',
    handler: (core, req) =>
      listResponse(core, req, {
        contextName: 'directoryRoleTemplates',
        schema: SCHEMAS.directoryRole,
        unpaged: true,
        source: () => core.dir.roleDefinitions.list().filter((d) => d['isBuiltIn'] === true),
        render: (d) => ({ id: d.id, deletedDateTime: null, description: d['description'] ?? null, displayName: d['displayName'] ?? null }),
      }),
  },
  ...simpleList('roleDefinitions', SCHEMAS.roleDefinition, (c) => c.dir.roleDefinitions.list(), 'readRoleManagement'),
  ...simpleList('roleAssignments', SCHEMAS.roleAssignment, (c) => c.dir.roleAssignments.list(), 'readRoleManagement'),
  ...simpleList(
    'roleEligibilitySchedules',
    SCHEMAS.roleEligibilitySchedule,
    (c) => c.dir.currentEligibilitySchedules(),
    'readRoleEligibility',
  ),
  { method: 'POST', pattern: `${RM}/roleAssignments`, perm: 'writeRoleAssignments', write: true, handler: createRoleAssignment },
  {
    method: 'DELETE',
    pattern: `${RM}/roleAssignments/:id`,
    perm: 'writeRoleAssignments',
    write: true,
    handler: (core, _req, p) => {
      if (!core.ops.deleteRoleAssignment(p['id'] as string)) throw notFound(p['id'] as string);
      return noContent();
    },
  },
  {
    method: 'POST',
    pattern: `${RM}/roleEligibilityScheduleRequests`,
    perm: 'writeRoleEligibility',
    write: true,
    handler: eligibilityRequest,
  },
  {
    method: 'GET',
    pattern: '/administrativeUnits',
    perm: 'readAdministrativeUnits',
    handler: (core, req) =>
      listResponse(core, req, {
        contextName: 'administrativeUnits',
        schema: SCHEMAS.administrativeUnit,
        source: () => core.dir.administrativeUnits.list(),
        asObject: (o) => o,
        render: (o, s) => project(o, s, SCHEMAS.administrativeUnit),
      }),
  },
  {
    method: 'GET',
    pattern: '/applications',
    perm: 'readApplications',
    handler: (core, req) =>
      listResponse(core, req, {
        contextName: 'applications',
        schema: SCHEMAS.application,
        source: () => core.dir.applications.list(),
        asObject: (o) => o,
        render: (o, s) => project(o, s, SCHEMAS.application),
      }),
  },
  {
    method: 'GET',
    pattern: '/administrativeUnits/:id',
    perm: 'readAdministrativeUnits',
    handler: (core, req, p) => {
      const au = core.dir.administrativeUnits.get((p['id'] as string).toLowerCase());
      if (!au) throw notFound(p['id'] as string);
      return entityResponse(core.baseUrl, req, 'administrativeUnits', SCHEMAS.administrativeUnit, au);
    },
  },
  {
    method: 'GET',
    pattern: '/directoryObjects/:id',
    perm: 'readDirectoryObjects',
    handler: (core, req, p) => {
      const id = (p['id'] as string).toLowerCase();
      const r = renderDirectoryObject(core, id, null);
      if (!r) throw notFound(id);
      return { status: 200, headers: {}, body: { '@odata.context': `${core.baseUrl}/v1.0/$metadata#directoryObjects/$entity`, ...r } };
    },
  },
];
