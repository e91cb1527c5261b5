import type { JsonObject } from '../types';
import type { Directory } from './directory';
import { Rng, deriveSeed } from './rng';

const DAY = 86_400_000;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Graph's `signInActivity` for one user, spread like a real tenant: most members signed in within the
 * last month, some are stale (> 90 days), some never signed in (null, as Graph returns it). Relative to
 * the start of the current UTC day, so stale stays stale whenever a tenant is generated.
 */
export function makeSignInActivity(rng: Rng, opts: { guest: boolean; disabled: boolean }): JsonObject | null {
  const today = Math.floor(Date.now() / DAY) * DAY;
  const r = rng.next();
  const never = opts.guest ? 0.3 : opts.disabled ? 0.25 : 0.08;
  const stale = opts.guest ? 0.35 : opts.disabled ? 0.6 : 0.12;
  if (r < never) return null;
  const ageDays = r < never + stale ? 91 + rng.int(700) : rng.int(30);
  const interactive = today - ageDays * DAY - rng.int(DAY);
  const hasInteractive = !rng.chance(0.05);
  const nonInteractive = rng.chance(0.8) ? interactive + rng.int(3 * DAY) : null;
  const failedLast = rng.chance(0.04);
  const successful = failedLast ? interactive - rng.int(10 * DAY) : interactive;
  const last = hasInteractive ? interactive : null;
  return {
    lastSignInDateTime: last === null ? null : iso(last),
    lastSignInRequestId: last === null ? null : rng.guid(),
    lastNonInteractiveSignInDateTime: nonInteractive === null ? null : iso(Math.min(nonInteractive, today)),
    lastNonInteractiveSignInRequestId: nonInteractive === null ? null : rng.guid(),
    lastSuccessfulSignInDateTime: hasInteractive ? iso(successful) : nonInteractive === null ? null : iso(Math.min(nonInteractive, today)),
    lastSuccessfulSignInRequestId: hasInteractive || nonInteractive !== null ? rng.guid() : null,
  };
}

/**
 * The reporting structure and sign-in activity of a generated tenant, from their own random stream
 * (so the rest of the tenant is the same as before they existed). Members only report to members: one
 * head, ~8 executives, ~5 % middle managers, ~15 % team leads, everyone else under a lead or a middle
 * manager; ~6 % of members and every guest have no manager.
 */
export function generatePeople(dir: Directory, userIds: readonly string[], seed: number): void {
  const rng = new Rng(deriveSeed(seed, 0x9e0b1e));
  const members: string[] = [];
  for (const id of userIds) {
    const u = dir.users.get(id);
    if (!u) continue;
    u['signInActivity'] = makeSignInActivity(rng, { guest: u['userType'] === 'Guest', disabled: u['accountEnabled'] === false });
    if (u['userType'] === 'Member') members.push(id);
  }
  if (members.length < 2) return;
  const [head, ...rest] = members as [string, ...string[]];
  const execs = rest.slice(0, Math.min(8, rest.length));
  for (const e of execs) dir.managers.set(e, head);
  const others = rest.slice(execs.length);
  const middleCount = Math.max(1, Math.round(members.length * 0.05));
  const leadCount = Math.max(1, Math.round(members.length * 0.15));
  const middle = others.slice(0, middleCount);
  const leads = others.slice(middleCount, middleCount + leadCount);
  const staff = others.slice(middleCount + leadCount);
  for (const m of middle) if (execs.length) dir.managers.set(m, rng.pick(execs));
  for (const l of leads) if (middle.length) dir.managers.set(l, rng.pick(middle));
  for (const s of staff) {
    if (rng.chance(0.06)) continue;
    const pool = leads.length && rng.chance(0.85) ? leads : middle;
    if (pool.length) dir.managers.set(s, rng.pick(pool));
  }
}
