import type { AccessClaims } from '../identity/tokens';
import type { JsonValue } from '../types';

/** A Graph request after parsing; the same shape serves direct HTTP calls and $batch items. */
export interface GraphRequest {
  method: string;
  /** Path below /v1.0, decoded per segment, starting with '/'. */
  path: string;
  segments: string[];
  /** Raw query string without '?', kept verbatim for nextLinks. */
  rawQuery: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
  requestId: string;
  clientRequestId: string;
  claims?: AccessClaims;
  inBatch: boolean;
  /** Set by the router once matched, for stats. */
  routeName?: string;
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON body, or a string for text/plain, or undefined for none. */
  body?: JsonValue | string;
}

export const JSON_CONTENT_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
