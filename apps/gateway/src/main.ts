import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { parseEnvironment } from './environment';

type ServerModule = typeof import('./server');

/**
 * `tsx apps/gateway/src/main.ts` from the repository root applies the ROOT tsconfig, which does not
 * cover this package, so esbuild would reject type-graphql's parameter decorators. Loading the
 * server through tsx's API with this package's tsconfig makes the entry point work from any cwd.
 */
async function loadServer(): Promise<ServerModule> {
  return (await tsImport('./server.ts', { parentURL: import.meta.url, tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) })) as ServerModule;
}

async function main(): Promise<void> {
  // graphql-js picks its instanceof checks when it loads: without production it cross-checks every
  // type test against duplicate module copies, about a tenth of the CPU of a page of grants.
  process.env['NODE_ENV'] ??= 'production';
  let env;
  try {
    env = parseEnvironment();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const { startGateway } = await loadServer();
  const gateway = await startGateway(env);
  const stop = () => {
    gateway.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
