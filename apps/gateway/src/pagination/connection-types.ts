import { Extensions, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { reads } from '../response-cache/read-scope';
import type { PageResult } from './page';

@Extensions(reads())
@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/**
 * Builds `<Name>Edge` and `<Name>Connection` for a node type. Resolvers return a PageResult; the
 * connection's totalCount is a method so the COUNT query runs only when a client selects it.
 */
export function connectionTypes<T extends object>(nodeType: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`, { simpleResolvers: true })
  class EdgeType {
    @Field(() => String)
    cursor!: string;

    @Field(() => nodeType)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true })
  class ConnectionType {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    constructor(private readonly page: PageResult<T>) {
      this.edges = page?.edges;
      this.pageInfo = page?.pageInfo;
    }

    @Field(() => Int)
    totalCount(): Promise<number> {
      return this.page.totalCount();
    }
  }

  return { EdgeType, ConnectionType };
}
