import type { Directory, Entity } from './directory';
import { Rng, deriveSeed } from './rng';

/**
 * Administrative units and what Graph allows over them. Generated from their own seed stream, so
 * adding them left every other generated object (and its id) unchanged.
 */

const AU_NAMES = ['Sales', 'Marketing', 'Engineering', 'Finance', 'Operations', 'Support', 'Legal', 'Research'];

/** Built-in roles Graph lets one assign over an administrative unit (template ids); custom roles may be too. */
export const AU_SCOPABLE_ROLES: ReadonlySet<string> = new Set([
  'fe930be7-5e62-47db-91af-98c3a49a38b1', // User Administrator
  'fdd7a751-b60b-444a-984c-02652fe8fa1c', // Groups Administrator
  '729827e3-9c14-49f7-bb1b-9608f156bbb8', // Helpdesk Administrator
  'c4e39bd9-1100-46d3-8c65-fb160da0071b', // Authentication Administrator
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13', // Privileged Authentication Administrator
  'f28a1f50-f6e7-4571-818b-6a12f2af6b6c', // SharePoint Administrator
  '69091246-20e8-4a56-aa4d-066075b2a7a8', // Teams Administrator
  '4d6ac14f-3453-41d0-bef9-a3e0c569773a', // License Administrator
  '966707d0-3269-4727-9be2-8c3a10f19b9d', // Password Administrator
  '7698a772-787b-4ac8-901f-60d6b08affd2', // Cloud Device Administrator
]);
export const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';

/** Whether Graph accepts this role definition over an administrative unit. */
export function roleAllowedOverAdministrativeUnit(def: Entity): boolean {
  return def['isBuiltIn'] !== true || AU_SCOPABLE_ROLES.has(String(def['templateId']).toLowerCase());
}

/** A few administrative units, deterministic from the seed (2 for S up to 8). */
export function generateAdministrativeUnits(dir: Directory, seed: number, roleAssignments: number): Entity[] {
  const rng = new Rng(deriveSeed(seed, 0xa0a0));
  const n = Math.max(2, Math.min(AU_NAMES.length, Math.round(roleAssignments / 20)));
  const out: Entity[] = [];
  for (let i = 0; i < n; i++) {
    const au: Entity = {
      id: rng.guid(),
      deletedDateTime: null,
      displayName: AU_NAMES[i]!,
      description: `${AU_NAMES[i]!} administrative unit`,
      visibility: null,
      membershipType: null,
    };
    dir.administrativeUnits.set(au);
    out.push(au);
  }
  return out;
}

/** The administrative unit a generated assignment is scoped to, chosen by a guid the main stream already drew. */
export function unitOf(units: readonly Entity[], guid: string): Entity {
  return units[parseInt(guid.slice(0, 8), 16) % units.length]!;
}
