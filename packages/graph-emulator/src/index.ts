export type {
  WriteLogEntry,
  AuditLogSettings,
  Change,
  ChangeKind,
  EmulatorApp,
  EmulatorConfig,
  EmulatorSettings,
  EmulatorStats,
  RunningEmulator,
  StartOptions,
  TenantCounts,
  TenantExport,
  TenantSize,
  ThrottleSettings,
  WardenApiInfo,
  JsonObject,
  JsonValue,
} from './types';
export { startEmulator } from './emulator';
export { SIZE_COUNTS, resolveCounts, ruBudgetForUsers } from './tenant/sizes';
export { WARDEN_APP_ROLES, WARDEN_SCOPE } from './identity/apps';
export { PROVISIONING_ROLES, READONLY_ROLES, READ_ONLY_SET, PROVISIONING_SET } from './identity/permissions';
import { ensureCa as ensureCaImpl, defaultCaDir } from './identity/ca';

export { defaultCaDir };

/** Creates (once) and returns the local CA; default dir <repo>/.data/emulator-ca or $GRAPH_EMULATOR_CA_DIR. */
export function ensureCa(dir?: string): Promise<{ caCertPath: string; caKeyPath: string }> {
  return ensureCaImpl(dir);
}
export { testSeed } from './test-seed';
/** The emulator's seeded generator, for tests that draw their inputs from a printed seed. */
export { Rng } from './tenant/rng';
