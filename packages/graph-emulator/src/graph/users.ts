import { notFound } from '../http/errors';
import type { Entity } from '../tenant/directory';
import { countResponse, entityResponse } from './common';
import { listResponse } from './list';
import { project } from './query';
import type { Route } from './routes';
import { SCHEMAS } from './schema';

const S = SCHEMAS.user;

function findUser(users: { get(id: string): Entity | undefined; list(): readonly Entity[] }, key: string): Entity | undefined {
  const byId = users.get(key);
  if (byId) return byId;
  const k = key.toLowerCase();
  if (!k.includes('@')) return undefined;
  return users.list().find((u) => String(u['userPrincipalName']).toLowerCase() === k);
}

export const userRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/users',
    perm: 'readUsers',
    cost: 2,
    handler: (core, req) => {
      const selectsSignIn =
        /signinactivity/i.test(req.query.get('$select') ?? '') || /signinactivity/i.test(req.query.get('$filter') ?? '');
      return listResponse(core, req, {
        contextName: 'users',
        schema: S,
        source: () => core.dir.users.list(),
        asObject: (u) => u,
        render: (u, select) => project(u, select, S),
        maxTop: selectsSignIn ? 500 : 999,
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
      const u = findUser(core.dir.users, p['id'] as string);
      if (!u) throw notFound(p['id'] as string);
      return entityResponse(core.baseUrl, req, 'users', S, u);
    },
  },
];
