import { GraphError, badRequest, notFound } from '../http/errors';
import type { GraphRequest } from '../http/types';
import type { EmulatorCore } from '../core';
import type { Entity } from '../tenant/directory';
import type { JsonObject } from '../types';
import { countResponse, entityResponse } from './common';
import { listResponse } from './list';
import { opt, project } from './query';
import { renderDirectoryObject } from './render';
import type { Route } from './routes';
import { SCHEMAS } from './schema';

const S = SCHEMAS.user;
/**
 * Graph: with `$select=signInActivity` (or a filter on it) a page holds at most 500 users; a larger
 * `$top` is not an error. Microsoft's user-list page said 120 until its newer revision (the one with
 * the "Microsoft Entra ID P1 or P2" wording): "the maximum page size for `$top` is 500";
 * `../shared/reference/graph-api.md` §1 records the same.
 */
export const SIGN_IN_ACTIVITY_MAX_TOP = 500;

function findUser(users: { get(id: string): Entity | undefined; list(): readonly Entity[] }, key: string): Entity | undefined {
  const byId = users.get(key);
  if (byId) return byId;
  const k = key.toLowerCase();
  if (!k.includes('@')) return undefined;
  return users.list().find((u) => String(u['userPrincipalName']).toLowerCase() === k);
}

/** signInActivity needs AuditLog.Read.All on top of a users read permission (403 like Graph otherwise). */
function checkSignInActivity(req: GraphRequest): boolean {
  const wants = /signinactivity/i.test(opt(req, 'select') ?? '') || /signinactivity/i.test(opt(req, 'filter') ?? '');
  if (wants && !(req.claims?.roles ?? []).includes('AuditLog.Read.All')) {
    throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
  return wants;
}

/**
 * `$expand=manager` or `$expand=manager($select=id,…)`: returns the `$select` inside the parentheses
 * (null = the manager's default properties). Only `manager` can be expanded on users here.
 */
function parseManagerExpand(req: GraphRequest): { select: string[] | null } | null {
  const raw = opt(req, 'expand');
  if (raw === null || raw.trim() === '') return null;
  const m = /^\s*manager\s*(?:\(\s*\$?select\s*=\s*([^)]*)\))?\s*$/i.exec(raw);
  if (!m) throw badRequest(`Parsing OData Select and Expand failed: the emulator expands only 'manager' on users.`);
  const sel = m[1]
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  return { select: sel && sel.length ? sel : null };
}

function withManager(core: EmulatorCore, u: Entity, out: JsonObject, expand: { select: string[] | null } | null): JsonObject {
  if (!expand) return out;
  const m = core.dir.managers.get(u.id);
  const rendered = m === undefined ? null : renderDirectoryObject(core, m, expand.select);
  // Graph omits the navigation property when there is no manager.
  if (rendered) out['manager'] = rendered;
  return out;
}

export const userRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/users',
    perm: 'readUsers',
    cost: 2,
    handler: (core, req) => {
      const selectsSignIn = checkSignInActivity(req);
      const expand = parseManagerExpand(req);
      return listResponse(core, req, {
        contextName: 'users',
        schema: S,
        source: () => core.dir.users.list(),
        asObject: (u) => u,
        render: (u, select) => withManager(core, u, project(u, select, S), expand),
        maxTop: selectsSignIn ? SIGN_IN_ACTIVITY_MAX_TOP : 999,
      });
    },
  },
  {
    method: 'GET',
    pattern: '/users/$count',
    perm: 'readUsers',
    handler: (core, req) => countResponse(req, core.dir.users.size),
  },
  { method: 'GET', pattern: '/users/delta', perm: 'readUsers', handler: (core, req) => core.delta.handle('users', req) },
  {
    method: 'GET',
    pattern: '/users/:id',
    perm: 'readUsers',
    handler: (core, req, p) => {
      checkSignInActivity(req);
      const expand = parseManagerExpand(req);
      const u = findUser(core.dir.users, p['id'] as string);
      if (!u) throw notFound(p['id'] as string);
      const res = entityResponse(core.baseUrl, req, 'users', S, u);
      withManager(core, u, res.body as JsonObject, expand);
      return res;
    },
  },
  {
    method: 'GET',
    pattern: '/users/:id/manager',
    perm: 'readUsers',
    handler: (core, req, p) => {
      const u = findUser(core.dir.users, p['id'] as string);
      if (!u) throw notFound(p['id'] as string);
      const m = core.dir.managers.get(u.id);
      const body = m === undefined ? null : renderDirectoryObject(core, m, null);
      if (!body) throw notFound('manager');
      return { status: 200, headers: {}, body: { '@odata.context': `${core.baseUrl}/v1.0/$metadata#directoryObjects/$entity`, ...body } };
    },
  },
];
