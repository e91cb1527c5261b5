import type { ResourceInput } from '../model';
import { servicePrincipalResource, type GraphServicePrincipal } from './enterprise-apps';

/** Managed identities are principals only: a resource, no entitlements of their own. */
export function mapManagedIdentity(sp: Partial<GraphServicePrincipal> & { id: string }): ResourceInput {
  return servicePrincipalResource('MANAGED_IDENTITY', sp);
}
