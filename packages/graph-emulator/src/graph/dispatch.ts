import type { EmulatorCore } from '../core';
import { GraphError, errorBody, forbidden, noRoute, notFound } from '../http/errors';
import { JSON_CONTENT_TYPE, type GraphRequest, type GraphResponse } from '../http/types';
import { allows } from '../identity/permissions';
import { compile, match, type CompiledRoute, type Route } from './routes';
import { Throttler, resourceUnits } from './throttle';
import { userRoutes } from './users';

const WWW_AUTH =
  'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';

export interface GraphRouter {
  execute(req: GraphRequest): GraphResponse;
  throttler: Throttler;
}

export function createRouter(core: EmulatorCore, extraRoutes: Route[] = []): GraphRouter {
  const routes: CompiledRoute[] = compile([...userRoutes, ...extraRoutes]);
  const throttler = new Throttler(core.tenantId);

  function authenticate(req: GraphRequest): void {
    const auth = req.headers['authorization'] ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (!m || !m[1]) throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', { 'www-authenticate': WWW_AUTH });
    const v = core.tokens.verify(m[1].trim());
    if (!v.ok) throw new GraphError(401, 'InvalidAuthenticationToken', v.message, { 'www-authenticate': WWW_AUTH });
    req.claims = v.claims;
  }

  /** Alternate keys: servicePrincipals(appId='…') and directoryRoles(roleTemplateId='…'). */
  function normalize(req: GraphRequest): void {
    const first = req.segments[0] ?? '';
    const sp = /^servicePrincipals\(appId='([^']+)'\)$/i.exec(first);
    if (sp) {
      const appId = (sp[1] as string).toLowerCase();
      const found = core.dir.servicePrincipals.list().find((s) => String(s['appId']).toLowerCase() === appId);
      if (!found) throw notFound(`appId=${appId}`);
      req.segments = ['servicePrincipals', found.id, ...req.segments.slice(1)];
    }
    const dr = /^directoryRoles\(roleTemplateId='([^']+)'\)$/i.exec(first);
    if (dr) {
      const roleId = core.dir.directoryRoleByTemplate.get((dr[1] as string).toLowerCase());
      if (!roleId) throw notFound(dr[1] as string);
      req.segments = ['directoryRoles', roleId, ...req.segments.slice(1)];
    }
  }

  function run(req: GraphRequest): GraphResponse {
    authenticate(req);
    normalize(req);
    const m = match(routes, req.method, req.segments);
    if (m === 'method') throw new GraphError(405, 'Request_BadRequest', `Specified HTTP method is not allowed for the request target.`);
    if (!m) throw noRoute(req.method, req.path);
    req.routeName = m.route.name;
    const claims = req.claims;
    if (!claims || !allows(claims.roles ?? [], m.route.perm)) throw forbidden();
    const isWrite = req.method !== 'GET';
    // Cost 0: a service with its own request limit (the reports APIs), outside the directory's RU bucket.
    const ru = m.route.cost === 0 ? 0 : resourceUnits(req, m.route.cost ?? 1);
    const decision = throttler.check(claims.appid, ru, isWrite, core.settings.throttle);
    if (!decision.ok) {
      throw new GraphError(
        429,
        'TooManyRequests',
        'Please retry again later.',
        {
          'retry-after': String(decision.retryAfter),
          'x-ms-throttle-scope': decision.scope,
          'x-ms-throttle-information': decision.information,
        },
        { code: '429', message: 'Please retry after', status: '429' },
      );
    }
    core.stats.ru(ru);
    if (isWrite) core.stats.write();
    // Changes a write makes are audited as the calling app's.
    if (isWrite) core.ops.actor = { appId: claims.appid };
    let res: GraphResponse;
    try {
      res = m.route.handler(core, req, m.params);
    } finally {
      if (isWrite) core.ops.actor = null;
    }
    res.headers['x-ms-resource-unit'] = String(ru);
    if (decision.usage >= 0.8) res.headers['x-ms-throttle-limit-percentage'] = decision.usage.toFixed(1);
    return res;
  }

  return {
    throttler,
    execute(req: GraphRequest): GraphResponse {
      let res: GraphResponse;
      try {
        res = run(req);
      } catch (err) {
        if (err instanceof GraphError) {
          res = {
            status: err.status,
            headers: { ...err.headers },
            body: errorBody(err.code, err.message, req.requestId, req.clientRequestId, err.innerExtra),
          };
        } else {
          core.logger.error({ err, path: req.path }, 'handler failed');
          res = {
            status: 500,
            headers: {},
            body: errorBody('InternalServerError', 'An internal server error occurred.', req.requestId, req.clientRequestId),
          };
        }
      }
      res.headers['request-id'] = req.requestId;
      res.headers['client-request-id'] = req.clientRequestId;
      if (res.body !== undefined && typeof res.body !== 'string') res.headers['content-type'] = JSON_CONTENT_TYPE;
      else if (typeof res.body === 'string' && !res.headers['content-type']) res.headers['content-type'] = 'text/plain;charset=utf-8';
      res.headers['odata-version'] = '4.0';
      core.stats.request(req.routeName ?? `${req.method} (unmatched)`, res.status);
      if (req.method !== 'GET' && req.routeName)
        core.stats.logWrite({
          at: new Date().toISOString(),
          method: req.method,
          path: req.path,
          body: req.body === undefined ? null : JSON.stringify(req.body),
          status: res.status,
          appId: req.claims?.appid ?? null,
          requestId: req.requestId,
          inBatch: req.inBatch,
        });
      return res;
    },
  };
}
