import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printGatewaySchema } from '../schema';

/** `npm run -w @warden/gateway schema`: writes apps/gateway/schema.graphql from the resolver code. */
const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema.graphql');
writeFileSync(target, printGatewaySchema());
process.stderr.write(`wrote ${target}\n`);
