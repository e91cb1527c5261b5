import { z } from 'zod';
import type { ControlHandler } from './http/server';
import type { PlainResponse } from './identity/endpoints';
import type { RunningEmulator } from './types';
import type { JsonObject } from './types';

const mutateSchema = z.object({ count: z.number().int().min(0).max(1_000_000), seed: z.number().int().optional() });

const json = (body: unknown, status = 200): PlainResponse => ({ status, headers: {}, body: body as JsonObject });

/** Serialises a top-level object whose values may be huge arrays, one element at a time. */
function* jsonChunks(obj: Record<string, unknown>): Iterable<string> {
  yield '{';
  let firstKey = true;
  for (const [k, v] of Object.entries(obj)) {
    yield `${firstKey ? '' : ','}${JSON.stringify(k)}:`;
    firstKey = false;
    if (Array.isArray(v)) {
      yield '[';
      for (let i = 0; i < v.length; i++) yield `${i ? ',' : ''}${JSON.stringify(v[i])}`;
      yield ']';
    } else {
      yield JSON.stringify(v);
    }
  }
  yield '}';
}

/** /_emulator/*: the RunningEmulator methods as JSON over HTTPS, without Graph auth. */
export function controlHandler(emu: () => RunningEmulator): ControlHandler {
  return async (method, path, body) => {
    const e = emu();
    try {
      switch (`${method} ${path}`) {
        case 'GET /config':
          return json(e.config);
        case 'GET /export': {
          const ex = e.exportTenant();
          return { status: 200, headers: {}, stream: () => jsonChunks(ex as unknown as Record<string, unknown>) };
        }
        case 'POST /mutate': {
          const p = mutateSchema.parse(body ?? {});
          return json({ changes: e.mutate(p.count, p.seed) });
        }
        case 'GET /settings':
          return json(e.settings());
        case 'PUT /settings':
        case 'PATCH /settings':
          e.updateSettings((body ?? {}) as Parameters<RunningEmulator['updateSettings']>[0]);
          return json(e.settings());
        case 'GET /stats':
          return json(e.stats());
        case 'POST /stats/reset':
          e.resetStats();
          return json(e.stats());
        case 'POST /reset':
          e.reset();
          return json({ ok: true });
        default:
          return undefined;
      }
    } catch (err) {
      if (err instanceof z.ZodError) return json({ error: 'invalid_request', issues: err.issues }, 400);
      throw err;
    }
  };
}
