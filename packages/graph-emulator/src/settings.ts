import { z } from 'zod';
import type { EmulatorSettings } from './types';

export const settingsPatchSchema = z
  .object({
    latencyMs: z.number().min(0).optional(),
    jitterMs: z.number().min(0).optional(),
    faultRate: z.number().min(0).max(1).optional(),
    faultSeed: z.number().int().optional(),
    forceFaults: z.number().int().min(0).optional(),
    dropRate: z.number().min(0).max(1).optional(),
    throttle: z
      .object({
        enabled: z.boolean().optional(),
        ruPer10s: z.number().positive().optional(),
        writesPer150s: z.number().positive().optional(),
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
    faultRate: 0,
    forceFaults: 0,
    throttle: { enabled: true, ruPer10s, writesPer150s: 3_000 },
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
    if (v === undefined || k === 'throttle') continue;
    (next as unknown as Record<string, unknown>)[k] = v;
  }
  if (p.throttle) {
    for (const [k, v] of Object.entries(p.throttle)) {
      if (v !== undefined) (next.throttle as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return next;
}
