import type { EmulatorApp } from '../types';
import { Rng, deriveSeed } from '../tenant/rng';
import { PROVISIONING_ROLES, READONLY_ROLES } from './permissions';

export const WARDEN_APP_ROLES = ['Warden.SuperAdmin', 'Warden.ConnectorAdmin', 'Warden.Viewer'] as const;
export const WARDEN_SCOPE = 'access_as_user';
export const DEFAULT_WARDEN_REDIRECT_URIS = ['http://localhost:4000/auth/callback'];
/** Native/public-client loopback redirect (any port, as Entra allows for http://localhost). */
export const DEFAULT_WARDEN_PUBLIC_REDIRECT_URIS = ['http://localhost'];

/**
 * The app registrations every emulated tenant has; ids and secrets derive from the seed. The first
 * three are Graph clients (connectors); `warden` is the Warden application itself: an OpenID Connect
 * client and a protected API with app roles (its service principal and assignments: `warden.ts`).
 */
export function generateApps(seed: number, wardenRedirectUris: string[] = DEFAULT_WARDEN_REDIRECT_URIS): EmulatorApp[] {
  const rng = new Rng(deriveSeed(seed, 0xa995));
  const secret = (): string => `emu~${rng.bytes(24).toString('base64url')}`;
  const apps: EmulatorApp[] = [
    { name: 'provisioning', clientId: rng.guid(), clientSecret: secret(), roles: [...PROVISIONING_ROLES] },
    { name: 'readonly', clientId: rng.guid(), clientSecret: secret(), roles: [...READONLY_ROLES] },
    { name: 'unconsented', clientId: rng.guid(), clientSecret: secret(), roles: [] },
  ];
  // Drawn after the three above, so their ids and secrets are unchanged.
  const wardenId = rng.guid();
  const wardenSecret = secret();
  apps.push({
    name: 'warden',
    clientId: wardenId,
    clientSecret: wardenSecret,
    roles: [],
    api: {
      identifierUri: `api://${wardenId}`,
      scopes: [WARDEN_SCOPE],
      appRoles: WARDEN_APP_ROLES.map((value) => ({
        id: rng.guid(),
        value,
        displayName: value.replace('Warden.', 'Warden '),
        allowedMemberTypes: ['User', 'Application'],
      })),
      redirectUris: [...wardenRedirectUris],
      publicClientRedirectUris: [...DEFAULT_WARDEN_PUBLIC_REDIRECT_URIS],
      servicePrincipalId: '',
      roleHolders: {},
      viaGroup: [],
    },
  });
  return apps;
}
