import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
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
  // A new connection per control call: a kept-alive one could be reused after the emulator closed it
  // as idle (5 s) while the bench's event loop was busy (the L diff takes longer than that), and a
  // request sent on it fails with "other side closed" — not retryable for mutate.
  const control = <T>(method: string, route: string, body?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest(
        `${config.baseUrl}/_emulator${route}`,
        { method, agent: false, headers: payload === undefined ? {} : { 'content-type': 'application/json' } },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) reject(new Error(`emulator control ${method} ${route}: ${status} ${text}`));
            else {
              try {
                resolve(JSON.parse(text) as T);
              } catch (err) {
                reject(err instanceof Error ? err : new Error(String(err)));
              }
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
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
