import type { Logger } from 'pino';
import { DeltaEngine } from './graph/delta';
import { SnapshotRegistry } from './graph/snapshots';
import { appCertificate } from './identity/ca';
import { generateApps } from './identity/apps';
import { TokenService } from './identity/tokens';
import { applySettings, defaultSettings } from './settings';
import { StatsRecorder } from './stats';
import { Directory } from './tenant/directory';
import { generateTenant, tenantIdentity } from './tenant/generate';
import { Rng, deriveSeed } from './tenant/rng';
import { resolveCounts, ruBudgetForUsers } from './tenant/sizes';
import { exportTenant } from './tenant/export';
import { TenantOps } from './tenant/ops';
import type { EmulatorApp, EmulatorSettings, TenantCounts, TenantExport, TenantSize } from './types';

export interface CoreOptions {
  size: TenantSize;
  seed: number;
  counts?: Partial<TenantCounts>;
  settings?: Partial<EmulatorSettings>;
  logger: Logger;
  /** Web redirect URIs of the Warden app. */
  wardenRedirectUris?: string[];
  auditLatencyMs?: number;
}

/** Everything the HTTP layer needs: the tenant, its apps, tokens, settings, stats and paging state. */
/** A Graph request as the hook sees it: method, path below /v1.0, the raw query string and the JSON body. */
export interface AnsweredRequest {
  method: string;
  path: string;
  query: string;
  body: unknown;
}
export type AnswerHook = (req: AnsweredRequest) => void | Promise<void>;

export class EmulatorCore {
  readonly size: TenantSize;
  readonly seed: number;
  readonly counts: TenantCounts;
  readonly tenantId: string;
  readonly domain: string;
  readonly apps: EmulatorApp[];
  readonly tokens: TokenService;
  readonly stats = new StatsRecorder();
  readonly snapshots: SnapshotRegistry;
  readonly logger: Logger;
  readonly delta: DeltaEngine;
  dir: Directory;
  graphSpId: string;
  /** Randomness for ids created by writes and for replay decisions (seeded, but order-dependent). */
  rng: Rng;
  /** Randomness of the network: jitter, injected faults, $batch response order (reseeded by `faultSeed`). */
  noise: Rng;
  ops: TenantOps;
  baseUrl = '';
  /** How long a change takes to show in `/auditLogs/directoryAudits` (Graph's audit events arrive late); 0 = at once. */
  auditLatencyMs = 0;
  /** false: a tenant without Entra ID P1/P2, whose audit log Graph refuses (403). */
  auditLogLicensed = true;
  /** Awaited after a Graph answer is computed and before it is sent (`RunningEmulator.beforeAnswer`). */
  readonly answerHooks = new Set<AnswerHook>();
  private current: EmulatorSettings;
  private epochCounter = 0;

  constructor(opts: CoreOptions) {
    this.size = opts.size;
    this.seed = opts.seed;
    this.logger = opts.logger;
    this.counts = resolveCounts(opts.size, opts.counts);
    const ident = tenantIdentity(opts.seed);
    this.tenantId = ident.tenantId;
    this.domain = ident.domain;
    this.apps = generateApps(opts.seed, opts.wardenRedirectUris);
    const prov = this.apps.find((a) => a.name === 'provisioning');
    if (prov) {
      // The provisioning app can also authenticate with a certificate (client assertion).
      const cert = appCertificate(`warden-provisioning-${prov.clientId}`);
      prov.certificatePem = cert.certPem;
      prov.privateKeyPem = cert.keyPem;
    }
    this.tokens = new TokenService(
      this.tenantId,
      () => (this.baseUrl ? new URL(this.baseUrl).origin : null),
      () => (this.current.linkBaseUrl ? new URL(this.current.linkBaseUrl).origin : null),
    );
    this.noise = new Rng(deriveSeed(opts.seed, 0x0f417));
    this.current = this.withSeedApplied(applySettings(defaultSettings(ruBudgetForUsers(this.counts.users)), opts.settings ?? {}));
    this.auditLatencyMs = opts.auditLatencyMs ?? 0;
    this.snapshots = new SnapshotRegistry(() => this.current.pageTokenTtlSeconds);
    this.delta = new DeltaEngine(this);
    const t0 = Date.now();
    const gen = generateTenant(this.counts, this.seed, this.apps);
    this.dir = gen.dir;
    this.graphSpId = gen.graphSpId;
    this.rng = new Rng(deriveSeed(this.seed, 0x3117e));
    this.ops = new TenantOps(this.dir, this.rng);
    this.logger.info(
      {
        size: this.size,
        seed: this.seed,
        ms: Date.now() - t0,
        users: this.dir.users.size,
        groups: this.dir.groups.size,
        memberships: this.dir.groupMembers.totalLinks,
        servicePrincipals: this.dir.servicePrincipals.size,
        appRoleAssignments: this.dir.appRoleAssignments.size,
      },
      'tenant generated',
    );
  }

  get settings(): EmulatorSettings {
    return this.current;
  }

  /** Where nextLink / deltaLink point: the emulator itself unless `linkBaseUrl` injects another origin. */
  get linkBaseUrl(): string {
    return this.current.linkBaseUrl?.replace(/\/+$/, '') || this.baseUrl;
  }

  updateSettings(p: Partial<EmulatorSettings>): void {
    this.current = this.withSeedApplied(applySettings(this.current, p));
  }

  /** True when this Graph request is to fail: a forced fault first, then a draw at `faultRate`. */
  drawFault(): boolean {
    const forced = this.current.forceFaults ?? 0;
    if (forced > 0) {
      this.current = { ...this.current, forceFaults: forced - 1 };
      return true;
    }
    return this.current.faultRate > 0 && this.noise.next() < this.current.faultRate;
  }

  private withSeedApplied(s: EmulatorSettings): EmulatorSettings {
    if (s.faultSeed === undefined) return s;
    this.noise = new Rng(s.faultSeed);
    const { faultSeed: _applied, ...rest } = s;
    return rest;
  }

  app(name: string): EmulatorApp {
    const a = this.apps.find((x) => x.name === name);
    if (!a) throw new Error(`no emulator app named '${name}'`);
    return a;
  }

  appByClientId(clientId: string): EmulatorApp | undefined {
    return this.apps.find((a) => a.clientId === clientId);
  }

  servicePrincipalIdFor(clientId: string): string {
    for (const sp of this.dir.servicePrincipals.values()) if (sp['appId'] === clientId) return sp.id;
    return clientId;
  }

  exportTenant(): TenantExport {
    return exportTenant(this.dir);
  }

  /** Back to the generated tenant; delta tokens issued before are invalid afterwards. */
  reset(): void {
    const gen = generateTenant(this.counts, this.seed, this.apps);
    this.epochCounter++;
    gen.dir.epoch = this.epochCounter;
    this.dir = gen.dir;
    this.graphSpId = gen.graphSpId;
    this.rng = new Rng(deriveSeed(this.seed, 0x3117e + this.epochCounter));
    this.ops = new TenantOps(this.dir, this.rng);
  }
}
