import { auditLogRoutes } from './audit-logs';
import { groupRoutes } from './groups';
import { roleRoutes } from './roles';
import type { Route } from './routes';
import { servicePrincipalRoutes } from './service-principals';

/** Graph routes beyond /users (which the router always has). */
export const graphRoutes: Route[] = [...groupRoutes, ...servicePrincipalRoutes, ...roleRoutes, ...auditLogRoutes];
