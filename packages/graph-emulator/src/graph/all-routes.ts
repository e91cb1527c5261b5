import type { Route } from './routes';

/** Graph routes beyond /users (which the router always has). */
export const graphRoutes: Route[] = [];
