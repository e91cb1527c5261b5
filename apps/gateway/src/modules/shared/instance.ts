/**
 * type-graphql hands a field resolver its root unchanged only when the root is an instance of the
 * declared class; a plain object is copied into a fresh instance on every field-resolver call, i.e.
 * per row and per resolved field of a page. Mappers that build their object with this return an
 * instance from the start. The constructor is not run: field initializers would add own properties
 * the mappers leave out on purpose (a resource's `profile` when its page did not read it).
 */
export function asInstance<T extends object>(type: { prototype: T }, fields: T): T {
  return Object.assign(Object.create(type.prototype) as T, fields);
}
