import type { EmulatorApp } from '../types';
import { Rng, deriveSeed } from '../tenant/rng';
import { PROVISIONING_ROLES, READONLY_ROLES } from './permissions';

/** The three app registrations every emulated tenant has; ids and secrets derive from the seed. */
export function generateApps(seed: number): EmulatorApp[] {
  const rng = new Rng(deriveSeed(seed, 0xa995));
  const secret = (): string => `emu~${rng.bytes(24).toString('base64url')}`;
  return [
    { name: 'provisioning', clientId: rng.guid(), clientSecret: secret(), roles: [...PROVISIONING_ROLES] },
    { name: 'readonly', clientId: rng.guid(), clientSecret: secret(), roles: [...READONLY_ROLES] },
    { name: 'unconsented', clientId: rng.guid(), clientSecret: secret(), roles: [] },
  ];
}
