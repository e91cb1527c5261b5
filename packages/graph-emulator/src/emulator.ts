import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { controlHandler } from './control';
import { EmulatorCore } from './core';
import { createRouter } from './graph/dispatch';
import { graphRoutes } from './graph/all-routes';
import { createBatchHandler } from './graph/batch';
import { createHandler } from './http/server';
import { ensureCa, serverCertificate } from './identity/ca';
import { mutateTenant } from './tenant/mutate';
import type { EmulatorConfig, RunningEmulator, StartOptions } from './types';

/** Starts an HTTPS Graph + identity emulator with a freshly generated tenant. */
export async function startEmulator(opts: StartOptions = {}): Promise<RunningEmulator> {
  const logger = opts.logger ?? pino({ level: process.env['GRAPH_EMULATOR_LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  const ca = await ensureCa();
  const publicHost = opts.publicHost ?? 'localhost';
  const tls = await serverCertificate(ca, publicHost);
  const core = new EmulatorCore({
    size: opts.size ?? 'S',
    seed: opts.seed ?? 1,
    logger,
    ...(opts.counts ? { counts: opts.counts } : {}),
    ...(opts.settings ? { settings: opts.settings } : {}),
    ...(opts.wardenRedirectUris ? { wardenRedirectUris: opts.wardenRedirectUris } : {}),
    ...(opts.auditLatencyMs !== undefined ? { auditLatencyMs: opts.auditLatencyMs } : {}),
  });
  const router = createRouter(core, graphRoutes);
  const holder: { emu?: RunningEmulator } = {};
  const server = createServer(
    { key: tls.keyPem, cert: tls.certPem, keepAliveTimeout: 30_000 },
    createHandler({ core, router, control: controlHandler(() => holder.emu as RunningEmulator), batch: createBatchHandler(core, router) }),
  );
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  core.baseUrl = `https://${publicHost}:${port}`;
  const config: EmulatorConfig = {
    baseUrl: core.baseUrl,
    authorityHost: core.baseUrl,
    tenantId: core.tenantId,
    caCertPath: ca.caCertPath,
    apps: core.apps,
  };
  logger.info({ baseUrl: core.baseUrl, tenantId: core.tenantId }, 'graph emulator listening');
  const running: RunningEmulator = {
    config,
    app: (name) => core.app(name),
    settings: () => structuredClone(core.settings),
    updateSettings: (p) => core.updateSettings(p),
    exportTenant: () => core.exportTenant(),
    mutate: (count, seed) => mutateTenant(core, count, seed),
    reset: () => {
      core.reset();
      router.throttler.reset();
    },
    stats: () => core.stats.snapshot(),
    resetStats: () => core.stats.reset(),
    writeLog: () => core.stats.writeLog(),
    auditLog: () => core.dir.audits.all(),
    auditLogSettings: () => ({ latencyMs: core.auditLatencyMs, licensed: core.auditLogLicensed }),
    updateAuditLogSettings: (p) => {
      if (p.latencyMs !== undefined) {
        if (!Number.isFinite(p.latencyMs) || p.latencyMs < 0)
          throw new Error('audit latency must be a non-negative number of milliseconds');
        core.auditLatencyMs = p.latencyMs;
      }
      if (p.licensed !== undefined) core.auditLogLicensed = p.licensed;
      return { latencyMs: core.auditLatencyMs, licensed: core.auditLogLicensed };
    },
    rotateSigningKey: (previousKeyTtlSeconds) => core.tokens.rotate(previousKeyTtlSeconds),
    beforeAnswer: (hook) => {
      core.answerHooks.add(hook);
      return () => void core.answerHooks.delete(hook);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
  holder.emu = running;
  return running;
}
