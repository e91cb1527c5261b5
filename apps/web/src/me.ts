import { createContext, useContext } from 'react';
import { graphql, type ResultOf } from './graphql';

export const MeQuery = graphql(`
  query Me {
    me {
      subject
      roles
      displayName
      identities {
        id
        displayName
        type
      }
    }
  }
`);

export type Me = ResultOf<typeof MeQuery>['me'];

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error('useMe outside the signed-in shell');
  return me;
}

/** Staff reads everything; SUPER_ADMIN and CONNECTOR_ADMIN also change connectors and access. */
export const isStaff = (me: Me) => me.roles.length > 0;
export const canWrite = (me: Me) => me.roles.includes('SUPER_ADMIN') || me.roles.includes('CONNECTOR_ADMIN');
