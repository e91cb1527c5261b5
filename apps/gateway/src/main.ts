import { fileURLToPath } from 'node:url';
import { runService } from '@warden/service-kit';
import { tsImport } from 'tsx/esm/api';
import { parseEnvironment } from './environment';

type ServerModule = typeof import('./server');

/**
 * `tsx apps/gateway/src/main.ts` from the repository root applies the ROOT tsconfig, which does not
 * cover this package, so esbuild would reject type-graphql's parameter decorators. Loading the
 * server through tsx's API with this package's tsconfig makes the entry point work from any cwd.
 */
async function loadServer(): Promise<ServerModule> {
  return (await tsImport('./server.ts', {
    parentURL: import.meta.url,
    tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)),
  })) as ServerModule;
}

// graphql-js picks its instanceof checks when it loads: without production it cross-checks every
// type test against duplicate module copies, about a tenth of the CPU of a page of grants.
process.env['NODE_ENV'] ??= 'production';

await runService(
  () => parseEnvironment(),
  async (env) => (await loadServer()).startGateway(env),
  // An invalid environment exits 2 (like the gateway's CLIs); a failed start prints one line.
  { name: 'gateway', invalidEnvironmentExitCode: 2 },
);
