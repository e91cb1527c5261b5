import { DateTimeResolver, JSONResolver } from 'graphql-scalars';

// The contract names them DateTime and JSON; graphql-scalars' resolvers carry exactly those names.
export const DateTimeScalar = DateTimeResolver;
export const JSONScalar = JSONResolver;
