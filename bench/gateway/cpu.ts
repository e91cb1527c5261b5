import http from 'node:http';
import { failure, post, requestPayload, type Target } from './load';
import { procSample } from './observe';
import { endCursorOf, generateRequests, SHAPES, type Caller, type Population, type Req, type Shape } from './workload';

/**
 * CPU per request per shape, the measure a shared 2-core machine distorts least: for each shape,
 * `n` requests of the workload's own sequence (its variables, its tokens; a next page with the cursor
 * of its first page, fetched beforehand and not counted), `concurrency` at a time, nothing else
 * driven. The server's utime + stime and that of every Postgres backend of the bench's database
 * (/proc) before and after, divided by `n`. Idle backends (workers, listeners) add nothing
 * measurable; the writes are not running.
 */
export interface ShapeCpu {
  shape: Shape;
  requests: number;
  /** ms of CPU per request: the server process, and the Postgres backends of the database. */
  serverMs: number;
  postgresMs: number;
  errors: number;
}

export async function cpuPerShape(
  target: Target & { pid: number },
  pop: Population,
  callers: Caller[],
  tokens: string[],
  backendPids: () => Promise<number[]>,
  opts: { n: number; concurrency: number; seed: number; shapes?: readonly Shape[] },
): Promise<ShapeCpu[]> {
  // A long sequence at a high rate holds enough requests of even the rarest shape (4 %).
  const all = generateRequests(pop, callers, 400, Math.ceil((opts.n / 0.03 / 400) * 1000) + 5_000, opts.seed);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const url = new URL(target.url);
  const headers = (r: Req): Record<string, string> => (target.kind === 'gateway' ? { authorization: `Bearer ${tokens[r.token]!}` } : {});
  const out: ShapeCpu[] = [];
  try {
    for (const shape of opts.shapes ?? SHAPES) {
      const reqs = all.filter((r) => r.shape === shape).slice(0, opts.n);
      if (reqs.length === 0) continue;
      // Next pages need their first page's cursor on this server: asked first, outside the measure.
      const cursors = new Map<number, string | null>();
      for (const r of reqs)
        if (r.after !== undefined && !cursors.has(r.after)) {
          const a = await post(agent, url, requestPayload(target.kind, all[r.after]!, null), headers(all[r.after]!), 60_000);
          cursors.set(r.after, failure(a) ? null : endCursorOf(a.body?.data));
        }
      const payloads = reqs.map((r) => requestPayload(target.kind, r, r.after === undefined ? null : (cursors.get(r.after) ?? null)));
      const pids = await backendPids();
      const cpu = (pid: number) => procSample(pid, true)?.cpuSeconds ?? 0;
      const s0 = procSample(target.pid)!.cpuSeconds;
      const p0 = new Map(pids.map((p) => [p, cpu(p)]));
      let next = 0;
      let errors = 0;
      const worker = async () => {
        while (next < reqs.length) {
          const i = next++;
          if (failure(await post(agent, url, payloads[i]!, headers(reqs[i]!), 60_000))) errors++;
        }
      };
      await Promise.all(Array.from({ length: opts.concurrency }, worker));
      const s1 = procSample(target.pid)!.cpuSeconds;
      let pg = 0;
      // A backend that appeared during the measure counts from zero.
      for (const p of await backendPids()) pg += cpu(p) - (p0.get(p) ?? 0);
      const per = (s: number) => Math.round(((s * 1000) / reqs.length) * 100) / 100;
      out.push({ shape, requests: reqs.length, serverMs: per(s1 - s0), postgresMs: per(pg), errors });
    }
  } finally {
    agent.destroy();
  }
  return out;
}
