import { z } from 'zod';
import type { ControlHandler } from './http/server';
import type { PlainResponse } from './identity/endpoints';
import type { RunningEmulator } from './types';
import type { JsonObject } from './types';

const redirectUrisSchema = z
  .object({ redirectUris: z.array(z.url()).optional(), publicClientRedirectUris: z.array(z.url()).optional() })
  .strict();
const rotateSchema = z.object({ previousKeyTtlSeconds: z.number().min(0).optional() }).strict();

const auditSettingsSchema = z
  .object({ latencyMs: z.number().min(0).max(86_400_000).optional(), licensed: z.boolean().optional() })
  .strict();

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
      const appRoute = /^\/apps\/([^/]+)\/redirect-uris$/.exec(path);
      if (appRoute) {
        const app = e.config.apps.find((a) => a.name === decodeURIComponent(appRoute[1] as string));
        if (!app?.api) return json({ error: 'not_found', message: `no API app named '${appRoute[1]}'` }, 404);
        if (method === 'POST' || method === 'PUT') {
          const p = redirectUrisSchema.parse(body ?? {});
          if (p.redirectUris) app.api.redirectUris = p.redirectUris;
          if (p.publicClientRedirectUris) app.api.publicClientRedirectUris = p.publicClientRedirectUris;
        } else if (method !== 'GET') return undefined;
        return json({ redirectUris: app.api.redirectUris, publicClientRedirectUris: app.api.publicClientRedirectUris });
      }
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
        case 'GET /audit-logs':
          return json({ ...e.auditLogSettings(), directoryAudits: e.auditLog() });
        case 'PUT /audit-logs/settings':
        case 'PATCH /audit-logs/settings': {
          const p = auditSettingsSchema.parse(body ?? {});
          return json(
            e.updateAuditLogSettings({
              ...(p.latencyMs !== undefined ? { latencyMs: p.latencyMs } : {}),
              ...(p.licensed !== undefined ? { licensed: p.licensed } : {}),
            }),
          );
        }
        case 'GET /writes':
          return json({ writes: e.writeLog() });
        case 'POST /stats/reset':
          e.resetStats();
          return json(e.stats());
        case 'POST /keys/rotate': {
          const p = rotateSchema.parse(body ?? {});
          const kid = e.rotateSigningKey(p.previousKeyTtlSeconds);
          return json({ kid });
        }
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
