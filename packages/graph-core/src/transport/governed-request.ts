import type { MiddlewareOptions } from '@microsoft/microsoft-graph-client';
import { estimateCost, routeOf } from '../throttling/cost';
import type { Permit } from '../throttling/governor';

/**
 * What the governor middleware needs to know about one request beyond its URL and method, carried
 * in the SDK's MiddlewareControl. Requests that come without it (e.g. through `GraphClient.sdk`)
 * are priced from the cost table and retried with the client's defaults.
 */
export class GovernedRequestOptions implements MiddlewareOptions {
  constructor(
    readonly o: {
      /** Estimated resource units (a $batch: the sum of its items). */
      cost: number;
      /** Writes it carries (a $batch may carry several), for the write quota. */
      writes: number;
      /** Name under which the client's counters record it. */
      route: string;
      signal?: AbortSignal;
      /** The caller's next request waits for this answer (a page of a crawl or delta round): first in line for a slot. */
      chain?: boolean;
      /** Outer statuses that are answers, not errors (a $batch accepts 424). */
      accept?: number[];
      /**
       * Whether a 2xx answer counts as a success for AIMD; a $batch decides after reading its items.
       */
      countsAsSuccess?: boolean;
      /** The real cost when the server reports it in the body rather than in the headers ($batch items). */
      actualRuFromBody?: (text: string) => number | undefined;
      /** Set by the middleware: the permit of the attempt whose answer came back (for 429s found in a $batch's items). */
      sent?: Permit;
    },
  ) {}
}

/** A single request's price, write count and route name, from the cost table. */
export function singleRequest(method: string, url: URL | string, signal?: AbortSignal | null, chain = false): GovernedRequestOptions['o'] {
  const u = typeof url === 'string' ? new URL(url) : url;
  return {
    cost: estimateCost(method, u),
    writes: method.toUpperCase() === 'GET' ? 0 : 1,
    route: routeOf(method, u),
    ...(signal ? { signal } : {}),
    ...(chain ? { chain } : {}),
  };
}
