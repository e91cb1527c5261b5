import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphClient } from '@warden/graph-core';
import { startEmulator, type RunningEmulator } from '@warden/graph-emulator';
import { PartitionedRounds, planChunks } from '../src/syncers/partitioned-rounds';
import { groupsRoundPath, type GraphGroup } from '../src/syncers/groups';

/** Reads every item and checks the reader's promises: pages of a chunk only before its closing item, one closing item per chunk. */
async function drain(reader: PartitionedRounds<GraphGroup>) {
  const closed = new Map<number, number>();
  const links = new Set<string>();
  const withProps = new Set<string>();
  for (let item = await reader.next(); item; item = await reader.next()) {
    expect(closed.has(item.chunk), `a page of chunk ${item.chunk} after its end`).toBe(false);
    if (item.last) closed.set(item.chunk, (closed.get(item.chunk) ?? 0) + 1);
    for (const c of item.page?.changes ?? []) {
      if (c.kind !== 'upsert') continue;
      if (c.object.displayName !== undefined) withProps.add(c.id);
      for (const m of c.members ?? []) links.add(`${c.id} member ${m.id}`);
      for (const o of c.owners ?? []) links.add(`${c.id} owner ${o.id}`);
    }
  }
  return { closed, links, withProps };
}

describe('filtered delta rounds read at once (the groups full pass)', () => {
  let emu: RunningEmulator;
  let client: GraphClient;
  let expected: Set<string>;
  let ids: string[];
  beforeAll(async () => {
    // Small pages: a group of 40 members spans several pages.
    emu = await startEmulator({ size: 'S', seed: 23, port: 0, settings: { latencyMs: 0, deltaPageSize: 10, deltaLinksPerPage: 20 } });
    const app = emu.app('readonly');
    client = new GraphClient({
      tenantId: emu.config.tenantId,
      clientId: app.clientId,
      auth: { kind: 'secret', clientSecret: app.clientSecret },
      graphBaseUrl: emu.config.baseUrl,
      authorityHost: emu.config.authorityHost,
    });
    const t = emu.exportTenant();
    ids = t.groups.map((g) => g.id);
    expected = new Set(
      t.groups.flatMap((g) => [...g.members.map((m) => `${g.id} member ${m}`), ...g.owners.map((o) => `${g.id} owner ${o}`)]),
    );
  });
  afterAll(() => emu.close());

  it('reads every group with all its members and owners, each chunk closed once after its pages', async () => {
    const chunks = planChunks(ids, 7);
    expect(chunks.length).toBe(Math.ceil(ids.length / 7));
    const reader = new PartitionedRounds<GraphGroup>(client, {
      chunks,
      todo: chunks.map((_, i) => i),
      roundPath: groupsRoundPath,
      concurrency: 3,
      depth: 4,
    });
    const r = await drain(reader);
    expect(r.links).toEqual(expected);
    expect([...r.withProps].sort()).toEqual([...ids].sort());
    expect([...r.closed.keys()].sort((a, b) => a - b)).toEqual(chunks.map((_, i) => i));
    expect([...r.closed.values()].every((n) => n === 1)).toBe(true);
    // Small pages: the rounds are several pages each, one round per chunk.
    expect(reader.stats.rounds).toBe(chunks.length);
    expect(reader.stats.pages).toBeGreaterThan(2 * chunks.length);
    // Three workers: the longest run of pages one of them read lies between a third of them and all.
    expect(reader.stats.longestWorkerPages).toBeGreaterThanOrEqual(Math.ceil(reader.stats.pages / 3));
    expect(reader.stats.longestWorkerPages).toBeLessThan(reader.stats.pages);
  });

  it('reads only the chunks it is given (a resumed pass), and restarts a round Graph resets (410)', async () => {
    const chunks = planChunks(ids, 10);
    expect(chunks.length).toBeGreaterThan(2);
    emu.updateSettings({ forceResync: true });
    const reader = new PartitionedRounds<GraphGroup>(client, {
      chunks,
      todo: [0, 2],
      roundPath: groupsRoundPath,
      concurrency: 2,
      depth: 2,
    });
    const r = await drain(reader);
    expect(reader.stats.restarts).toBe(1);
    const read = new Set([...chunks[0]!, ...chunks[2]!]);
    expect([...r.withProps].sort()).toEqual([...read].sort());
    expect(r.links).toEqual(new Set([...expected].filter((l) => read.has(l.split(' ')[0]!))));
  });
});
