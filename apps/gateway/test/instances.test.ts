import { describe, expect, it } from 'vitest';
import { Entitlement, toEntitlement } from '../src/modules/entitlements/entitlement.type';
import { Resource, toResource } from '../src/modules/resources/resource.type';

// type-graphql copies a field resolver's root into a new instance unless it already is one; these
// mappers feed every page's rows to field resolvers, so they must return instances.
describe('row mappers return instances of their GraphQL class', () => {
  it('a resource row read without its profile is a Resource with no own profile (its resolver loads it)', () => {
    const r = toResource({ id: 'r1', connector_id: 'c1', type: 'USER', external_id: 'x1', display_name: 'Ada' });
    expect(r).toBeInstanceOf(Resource);
    expect(Object.hasOwn(r, 'profile')).toBe(false);
    expect(r.displayName).toBe('Ada');
    const withProfile = toResource({
      id: 'r2',
      connector_id: 'c1',
      type: 'USER',
      external_id: 'x2',
      display_name: 'Bo',
      profile: { mail: 'b@x' },
    });
    expect(withProfile.profile).toEqual({ mail: 'b@x' });
  });

  it('an entitlement row is an Entitlement', () => {
    const e = toEntitlement({
      id: 'e1',
      connector_id: 'c1',
      key: 'GROUP:g1:member',
      resource_external_id: 'g1',
      resource_type: 'GROUP',
      slug: 'member',
      display_name: 'Member of G',
      grantable: true,
      metadata: {},
    });
    expect(e).toBeInstanceOf(Entitlement);
    expect(e.key).toBe('GROUP:g1:member');
  });
});
