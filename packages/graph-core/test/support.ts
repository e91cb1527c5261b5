import { startEmulator, type RunningEmulator, type StartOptions } from '@warden/graph-emulator';
import { GraphClient, type GraphClientOptions } from '../src';

/** A client for one of the emulator's apps (secret auth). */
export function clientFor(emu: RunningEmulator, appName = 'provisioning', extra: Partial<GraphClientOptions> = {}): GraphClient {
  const app = emu.app(appName);
  return new GraphClient({
    tenantId: emu.config.tenantId,
    clientId: app.clientId,
    auth: { kind: 'secret', clientSecret: app.clientSecret },
    graphBaseUrl: emu.config.baseUrl,
    authorityHost: emu.config.authorityHost,
    ...extra,
  });
}

export function small(opts: StartOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ size: 'S', seed: 11, port: 0, ...opts });
}
