import { z } from 'zod';
import type { EmulatorSettings, LatencyMethod } from './types';

/**
 * Default `methodLatencyFactor`: a write takes three times a read. No published per-method latency of
 * Graph was found (README "Latency"); practitioners quote 150–300 ms for a read round trip, and the
 * benches use a 50 ms read, so writes at 150 ms sit at the low end of that range — conservative for
 * any figure that gains from concurrency.
 */
export const DEFAULT_METHOD_LATENCY_FACTOR: Readonly<Record<LatencyMethod, number>> = {
  GET: 1,
  POST: 3,
  PATCH: 3,
  PUT: 3,
  DELETE: 3,
};

/** Graph's tenant-wide write quota (all apps of a tenant): 18,000 writes per 5 minutes. */
export const TENANT_WRITES_PER_300S = 18_000;

const factor = z.number().min(0).max(100);

export const settingsPatchSchema = z
  .object({
    latencyMs: z.number().min(0).optional(),
    jitterMs: z.number().min(0).optional(),
    methodLatencyFactor: z
      .object({
        GET: factor.optional(),
        POST: factor.optional(),
        PATCH: factor.optional(),
        PUT: factor.optional(),
        DELETE: factor.optional(),
      })
      .strict()
      .optional(),
    faultRate: z.number().min(0).max(1).optional(),
    batchItemFaultRate: z.number().min(0).max(1).optional(),
    forceBatchItemFaults: z.number().int().min(0).optional(),
    faultSeed: z.number().int().optional(),
    forceFaults: z.number().int().min(0).optional(),
    dropRate: z.number().min(0).max(1).optional(),
    throttle: z
      .object({
        enabled: z.boolean().optional(),
        ruPer10s: z.number().positive().optional(),
        writesPer150s: z.number().positive().optional(),
        tenantWritesPer300s: z.number().positive().optional(),
      })
      .optional(),
    deltaTokenTtlSeconds: z.number().positive().optional(),
    pageTokenTtlSeconds: z.number().positive().optional(),
    forceResync: z.boolean().optional(),
    replayRate: z.number().min(0).max(1).optional(),
    deltaPageSize: z.number().int().min(1).max(5000).optional(),
    deltaLinksPerPage: z.number().int().min(1).max(100_000).optional(),
    tokenLifetimeSeconds: z.number().int().min(1).max(86_400).optional(),
    linkBaseUrl: z.url().nullable().optional(),
  })
  .strict();

export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export function defaultSettings(ruPer10s: number): EmulatorSettings {
  return {
    latencyMs: 0,
    jitterMs: 0,
    methodLatencyFactor: { ...DEFAULT_METHOD_LATENCY_FACTOR },
    faultRate: 0,
    forceFaults: 0,
    batchItemFaultRate: 0,
    forceBatchItemFaults: 0,
    throttle: { enabled: true, ruPer10s, writesPer150s: 3_000, tenantWritesPer300s: TENANT_WRITES_PER_300S },
    deltaTokenTtlSeconds: 7 * 24 * 3600,
    pageTokenTtlSeconds: 3600,
    forceResync: false,
    replayRate: 0,
    deltaPageSize: 100,
    deltaLinksPerPage: 1000,
    tokenLifetimeSeconds: 3599,
  };
}

export function applySettings(cur: EmulatorSettings, patch: Partial<EmulatorSettings> | SettingsPatch): EmulatorSettings {
  const p = settingsPatchSchema.parse(patch);
  const next: EmulatorSettings = { ...cur, throttle: { ...cur.throttle } };
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined || k === 'throttle' || k === 'methodLatencyFactor') continue;
    (next as unknown as Record<string, unknown>)[k] = v;
  }
  if (p.methodLatencyFactor) next.methodLatencyFactor = { ...cur.methodLatencyFactor, ...p.methodLatencyFactor };
  if (p.throttle) {
    for (const [k, v] of Object.entries(p.throttle)) {
      if (v !== undefined) (next.throttle as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return next;
}

/** How long a request of this method takes before it is answered: the read latency × the method's factor, plus jitter. */
export function latencyFor(s: EmulatorSettings, method: string, random: () => number): number {
  const f = s.methodLatencyFactor?.[method as LatencyMethod] ?? DEFAULT_METHOD_LATENCY_FACTOR[method as LatencyMethod] ?? 1;
  return s.latencyMs * f + (s.jitterMs ? random() * s.jitterMs : 0);
}
