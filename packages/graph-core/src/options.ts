import { z } from 'zod';

const httpsUrl = z.url({ protocol: /^https$/ });

// Connector settings come from the database and operators: fail at construction with a readable
// message rather than with an MSAL or fetch error on the first call.
export const graphClientOptionsSchema = z.object({
  tenantId: z.string().min(1),
  clientId: z.string().min(1),
  auth: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('secret'), clientSecret: z.string().min(1) }),
    z.object({
      kind: z.literal('certificate'),
      certificatePem: z.string().includes('BEGIN CERTIFICATE'),
      privateKeyPem: z.string().includes('PRIVATE KEY'),
    }),
  ]),
  graphBaseUrl: httpsUrl.optional(),
  authorityHost: httpsUrl.optional(),
  priority: z.enum(['Low', 'Normal', 'High']).optional(),
  budget: z.object({ ruPer10s: z.number().positive().optional(), writesPer150s: z.number().positive().optional() }).optional(),
  maxConcurrency: z.number().int().min(1).optional(),
  maxRetryTimeMs: z.number().min(0).optional(),
});
