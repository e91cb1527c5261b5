import { describe, expect, it } from 'vitest';
import { formatReport, runChaos } from '../src/run';

// The short version of `npm run chaos`: a fixed seed (override with CHAOS_SEED to replay another).
const SEED = Number(process.env.CHAOS_SEED ?? 18);

describe('chaos (short run)', () => {
  it(`keeps every invariant under the seeded faults (seed ${SEED})`, async () => {
    process.stderr.write(`chaos seed ${SEED} (reproduce with npm run chaos -- --minutes 1 --seed ${SEED})\n`);
    const report = await runChaos({ seed: SEED, minutes: 1, log: () => undefined });
    process.stderr.write(`${formatReport(report)}\n`);
    // Every kind of fault was injected at least once.
    expect(Object.keys(report.faults).sort()).toEqual(
      [
        'duplicate-deliveries',
        'graph-429-storm',
        'graph-5xx-storm',
        'graph-drop-mid-response',
        'graph-stall',
        'kill-9',
        'nats-restart-keep-data',
        'nats-restart-lose-data',
        'pg-terminate-storm',
        'postgres-restart',
        'postgres-stall',
        'sigterm',
        'clock-jump',
      ].sort(),
    );
    expect(report.faultLog.filter((f) => f.note?.startsWith('could not inject'))).toEqual([]);
    expect(report.operations['grant']!.ok).toBeGreaterThan(15);
    // The request and review invariants judged something (the setup makes requests and a campaign
    // before the faults start; the load adds more and decides them under the faults).
    const figures = (name: string) => report.invariants.find((i) => i.name.startsWith(name))!.figures;
    expect(figures('every access request is final')['requests']).toBeGreaterThan(0);
    expect(figures('no review remediation')['reviews']).toBeGreaterThan(0);
    expect(report.invariants.filter((i) => !i.pass).map((i) => `${i.name}: ${JSON.stringify(i.figures)}`)).toEqual([]);
  });
});
