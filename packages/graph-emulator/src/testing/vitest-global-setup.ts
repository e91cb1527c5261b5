import { ensureCa } from '../identity/ca';

/**
 * vitest globalSetup: creates the local CA and exports NODE_EXTRA_CA_CERTS before vitest forks its
 * workers, so fetch, @azure/identity and the Graph SDK inside tests trust the emulator's certificate.
 */
export default async function setup(): Promise<void> {
  const { caCertPath } = await ensureCa();
  process.env['NODE_EXTRA_CA_CERTS'] = caCertPath;
}
