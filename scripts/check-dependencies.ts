/** `npm run -s check:deps`: fails naming each file and import that breaks scripts/dependency-rules.ts. */
import { fileURLToPath } from 'node:url';
import { checkDependencies } from './dependency-rules';

const root = fileURLToPath(new URL('..', import.meta.url));
const problems = checkDependencies(root);
for (const p of problems) process.stderr.write(`${p.file}: ${p.message}\n`);
if (problems.length > 0) {
  process.stderr.write(`check-dependencies: ${problems.length} problem(s); the allowed edges are in scripts/dependency-rules.ts\n`);
  process.exit(1);
}
process.stdout.write('check-dependencies: every @warden import is allowed and declared\n');
