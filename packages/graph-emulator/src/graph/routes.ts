import type { EmulatorCore } from '../core';
import type { GraphRequest, GraphResponse } from '../http/types';
import type { Permission } from '../identity/permissions';

export type Params = Record<string, string>;

export interface Route {
  method: string;
  /** Segments below /v1.0; ':name' captures a segment. */
  pattern: string;
  /** Any one of the roles of this permission set is required. */
  perm: Permission;
  /** Counts against the write quota. */
  write?: boolean;
  /** Base resource-unit cost from Graph's table (default 1); 0 = not charged to the RU bucket (a service limited otherwise). */
  cost?: number;
  handler: (core: EmulatorCore, req: GraphRequest, params: Params) => GraphResponse;
}

export interface CompiledRoute extends Route {
  parts: string[];
  /** Stable name for stats, e.g. "GET /groups/{id}/members". */
  name: string;
}

export function compile(routes: Route[]): CompiledRoute[] {
  return routes.map((r) => {
    const parts = r.pattern.split('/').filter(Boolean);
    return { ...r, parts, name: `${r.method} /${parts.map((p) => (p.startsWith(':') ? '{id}' : p)).join('/')}` };
  });
}

export function match(
  routes: CompiledRoute[],
  method: string,
  segments: string[],
): { route: CompiledRoute; params: Params } | 'method' | undefined {
  let methodMismatch = false;
  for (const r of routes) {
    if (r.parts.length !== segments.length) continue;
    const params: Params = {};
    let ok = true;
    for (let i = 0; i < r.parts.length; i++) {
      const p = r.parts[i] as string;
      const s = segments[i] as string;
      if (p.startsWith(':')) {
        if (s.startsWith('$') || s === 'delta') {
          ok = false;
          break;
        }
        params[p.slice(1)] = s;
      } else if (p.toLowerCase() !== s.toLowerCase()) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (r.method !== method) {
      methodMismatch = true;
      continue;
    }
    return { route: r, params };
  }
  return methodMismatch ? 'method' : undefined;
}
