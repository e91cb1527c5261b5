import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Change, EmulatorConfig, EmulatorSettings, EmulatorStats, TenantExport } from '@warden/graph-emulator';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packages/graph-emulator/bin/graph-emulator.mjs');

/**
 * The Graph emulator in its own process, driven through its control API, so its CPU and memory are
 * not counted against the component a benchmark measures. Shared by every benchmark.
 */
export interface EmulatorProcess {
  config: EmulatorConfig;
  pid: number;
  /** PUT /_emulator/settings: a partial patch (nested throttle fields too). */
  settings(patch: Omit<Partial<EmulatorSettings>, 'throttle'> & { throttle?: Partial<EmulatorSettings['throttle']> }): Promise<void>;
  stats(): Promise<EmulatorStats>;
  resetStats(): Promise<void>;
  mutate(count: number, seed: number): Promise<Change[]>;
  exportTenant(): Promise<TenantExport>;
  close(): Promise<void>;
}

export async function startEmulatorProcess(size: string, seed: number): Promise<EmulatorProcess> {
  const proc: ChildProcess = spawn(process.execPath, [BIN, '--size', size, '--seed', String(seed), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const config = await new Promise<EmulatorConfig>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', (line) => resolve(JSON.parse(line) as EmulatorConfig));
    proc.once('exit', (code) => reject(new Error(`graph emulator exited (${code}) before printing its config`)));
  });
  const control = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${config.baseUrl}/_emulator${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`emulator control ${method} ${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    config,
    pid: proc.pid!,
    settings: async (patch) => void (await control('PUT', '/settings', patch)),
    stats: () => control<EmulatorStats>('GET', '/stats'),
    resetStats: async () => void (await control('POST', '/stats/reset')),
    mutate: async (count, s) => (await control<{ changes: Change[] }>('POST', '/mutate', { count, seed: s })).changes,
    exportTenant: () => control<TenantExport>('GET', '/export'),
    async close() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
