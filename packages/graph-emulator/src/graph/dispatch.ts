import type { EmulatorCore } from '../core';
import { GraphError, errorBody, forbidden, noRoute } from '../http/errors';
import { JSON_CONTENT_TYPE, type GraphRequest, type GraphResponse } from '../http/types';
import { allows } from '../identity/permissions';
import { compile, match, type CompiledRoute, type Route } from './routes';
import { Throttler, resourceUnits } from './throttle';
import { userRoutes } from './users';

const WWW_AUTH = 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';

export interface GraphRouter {
  execute(req: GraphRequest): GraphResponse;
  routeName(req: GraphRequest): string;
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

  function run(req: GraphRequest): GraphResponse {
    authenticate(req);
    const m = match(routes, req.method, req.segments);
    if (m === 'method') throw new GraphError(405, 'Request_BadRequest', `Specified HTTP method is not allowed for the request target.`);
    if (!m) throw noRoute(req.method, req.path);
    const claims = req.claims;
    if (!claims || !allows(claims.roles ?? [], m.route.perm)) throw forbidden();
    const isWrite = req.method !== 'GET';
    const ru = resourceUnits(req, m.route.cost ?? 1);
    const decision = throttler.check(claims.appid, ru, isWrite, core.settings.throttle);
    if (!decision.ok) {
      throw new GraphError(429, 'TooManyRequests', 'Please retry again later.', {
        'retry-after': String(decision.retryAfter), 'x-ms-throttle-scope': decision.scope,
        'x-ms-throttle-information': decision.information,
      }, { code: '429', message: 'Please retry after', status: '429' });
    }
    core.stats.ru(ru);
    if (isWrite) core.stats.write();
    const res = m.route.handler(core, req, m.params);
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
          res = { status: err.status, headers: { ...err.headers },
            body: errorBody(err.code, err.message, req.requestId, req.clientRequestId, err.innerExtra) };
        } else {
          core.logger.error({ err, path: req.path }, 'handler failed');
          res = { status: 500, headers: {}, body: errorBody('InternalServerError', 'An internal server error occurred.', req.requestId, req.clientRequestId) };
        }
      }
      res.headers['request-id'] = req.requestId;
      res.headers['client-request-id'] = req.clientRequestId;
      if (res.body !== undefined && typeof res.body !== 'string') res.headers['content-type'] = JSON_CONTENT_TYPE;
      else if (typeof res.body === 'string' && !res.headers['content-type']) res.headers['content-type'] = 'text/plain;charset=utf-8';
      res.headers['odata-version'] = '4.0';
      core.stats.request(this.routeName(req), res.status);
      return res;
    },
    routeName(req: GraphRequest): string {
      const m = match(routes, req.method, req.segments);
      return m && m !== 'method' ? m.route.name : `${req.method} (unmatched)`;
    },
  };
}
