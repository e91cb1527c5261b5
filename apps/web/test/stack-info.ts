/** What test/stack.ts reports once the system is up; global-setup.ts passes it to the tests as WARDEN_WEB_STACK. */
export interface StackInfo {
  /** The console (and gateway) origin, = PUBLIC_URL. */
  url: string;
  seed: number;
  /** A SUPER_ADMIN development token for set-up calls the tests make outside the browser. */
  token: string;
  /** The demo connector (emulator provisioning app), fully synced. */
  connectorId: string;
  /** A user holding Warden.SuperAdmin in the emulator tenant. */
  admin: string;
  /** A user holding no Warden role (a member), with a manager. */
  member: string;
  /** The member's manager in the emulator tenant (decides its requests under the demo policy). */
  manager: string;
  emulator: { baseUrl: string; authorityHost: string; tenantId: string };
  apps: Record<'readonly' | 'provisioning', { clientId: string; clientSecret: string }>;
}

export function stackInfo(): StackInfo {
  const raw = process.env['WARDEN_WEB_STACK'];
  if (!raw) throw new Error('WARDEN_WEB_STACK is not set: run the browser tests with `npm test -w @warden/web` (playwright test)');
  return JSON.parse(raw) as StackInfo;
}
