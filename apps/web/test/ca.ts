/** Prints the path of the emulator's local CA (created once), for NODE_EXTRA_CA_CERTS of the stack process. */
import { ensureCa } from '@warden/graph-emulator';

const { caCertPath } = await ensureCa();
process.stdout.write(`${caCertPath}\n`);
