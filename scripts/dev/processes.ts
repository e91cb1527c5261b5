import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import PinoPretty from 'pino-pretty';

export interface Service {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
let colorIndex = 0;

const pretty = PinoPretty.prettyFactory({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', singleLine: true });

/**
 * The services (and the emulator) log pino JSON lines to stderr; `npm start` shows them the way
 * people read them (time, level, message, then the fields). Any other line is shown as it is.
 */
export function readableLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const parsed = JSON.parse(line) as unknown;
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { level?: unknown }).level !== 'number') return line;
    return pretty(parsed).replace(/\n$/, '');
  } catch {
    return line;
  }
}

/** A child process whose output is prefixed with its name; stop() sends SIGTERM, then SIGKILL after 10 s. */
export function spawnService(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { onStdoutLine?: (line: string) => void; quiet?: boolean } = {},
): Service {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const color = COLORS[colorIndex++ % COLORS.length];
  const prefix = `${color}${name.padEnd(16)}\x1b[0m| `;
  const print = (line: string) => {
    if (!opts.quiet) for (const l of readableLine(line).split('\n')) process.stderr.write(prefix + l + '\n');
  };
  readline.createInterface({ input: child.stdout! }).on('line', (l) => (opts.onStdoutLine ? opts.onStdoutLine(l) : print(l)));
  readline.createInterface({ input: child.stderr! }).on('line', print);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
