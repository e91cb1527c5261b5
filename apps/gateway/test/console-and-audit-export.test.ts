import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness';

/** The console's static files (web/console.ts) and the audit log's filters and CSV export (modules/audit). */
let h: Harness;
let base: string;
let dir: string;
let connectorId: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'warden-console-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Warden</title><div id="root"></div>');
  writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  h = await startHarness({ CONSOLE_DIR: dir });
  base = h.gateway.url.replace(/\/graphql$/, '');
  const c = await h.db
    .insertInto('connectors')
    .values({ display_name: 'Audited', tenant_id: 't', auth_method: 'CLIENT_SECRET', owners: ['x'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  connectorId = c.id;
  const rows = [
    { at: '2026-01-01T10:00:00Z', actor: 'alice', action: 'grant.requested', connector_id: connectorId },
    { at: '2026-01-01T11:00:00Z', actor: 'alice', action: 'grant.succeeded', connector_id: connectorId },
    { at: '2026-01-02T10:00:00Z', actor: 'bob', action: 'revoke.requested', connector_id: connectorId },
    { at: '2026-01-03T10:00:00Z', actor: 'system', action: 'grant.expired', connector_id: null },
    { at: '2026-01-04T10:00:00Z', actor: '=HYPERLINK("x")', action: 'grant_requested', connector_id: null },
  ];
  // Raw SQL: the table's typed insert has no way to set `at`, which these rows need in the past.
  for (const r of rows)
    await sql`insert into audit_events (at, actor, action, connector_id, details)
      values (${r.at}::timestamptz, ${r.actor}, ${r.action}, ${r.connector_id}, ${JSON.stringify({ note: `${r.actor}, "quoted"` })}::jsonb)`.execute(
      h.db,
    );
});

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the web console', () => {
  it('serves index.html with a strict CSP at / and for deep links, hashed assets for a year, and never shadows the API', async () => {
    const root = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
    expect(root.status).toBe(200);
    expect(await root.text()).toContain('<div id="root">');
    const csp = root.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(root.headers.get('x-frame-options')).toBe('DENY');
    expect(root.headers.get('x-content-type-options')).toBe('nosniff');
    expect(root.headers.get('cache-control')).toBe('no-cache');

    const deep = await fetch(`${base}/connectors/123?tab=logs`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');

    const asset = await fetch(`${base}/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);

    // API routes keep their own answers, even when a browser asks for HTML.
    const health = await fetch(`${base}/healthz`, { headers: { accept: 'text/html' } });
    expect(health.headers.get('content-type')).not.toContain('text/html');
    const gql = await fetch(`${base}/graphql?query=%7B__typename%7D`, { headers: { accept: 'text/html' } });
    expect(await gql.text()).not.toContain('<div id="root">');
    const csv = await fetch(`${base}/audit/export.csv`, { headers: { accept: 'text/html' } });
    expect(csv.status).toBe(401);
    // Not HTML-accepting (e.g. a script's fetch of an unknown path): 404, not the page.
    expect((await fetch(`${base}/nothing-here`, { headers: { accept: 'application/json' } })).status).toBe(404);
  });

  it('is not served when CONSOLE_DIR=none or the folder has no build', async () => {
    const off = await startHarness({ CONSOLE_DIR: path.join(dir, 'missing') });
    try {
      const r = await fetch(`${off.gateway.url.replace(/\/graphql$/, '')}/`, { headers: { accept: 'text/html' } });
      expect(r.status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('auditEvents filters', () => {
  const Q = `query($actor: String, $action: String, $since: DateTime, $until: DateTime, $connectorId: ID) {
    auditEvents(actor: $actor, action: $action, since: $since, until: $until, connectorId: $connectorId, first: 50) { totalCount edges { node { actor action } } } }`;
  type A = { auditEvents: { totalCount: number; edges: { node: { actor: string; action: string } }[] } };
  const run = async (v: Record<string, unknown>) => {
    const r = await h.gql<A>(await h.token('VIEWER', 'v'), Q, v);
    expect(r.errors).toBeUndefined();
    return r.data!.auditEvents.edges.map((e) => e.node.action);
  };

  it('narrow by actor, exact action, action prefix, time window and connector, together', async () => {
    expect(await run({ actor: 'alice' })).toEqual(['grant.succeeded', 'grant.requested']);
    expect(await run({ action: 'grant.expired' })).toEqual(['grant.expired']);
    // A prefix ends with '.', and LIKE wildcards in it are literal ('grant_requested' is not 'grant.' anything).
    expect(await run({ action: 'grant.' })).toEqual(['grant.expired', 'grant.succeeded', 'grant.requested']);
    expect(await run({ action: 'grant_' })).toEqual([]);
    expect(await run({ since: '2026-01-01T10:30:00Z', until: '2026-01-03T10:00:00Z' })).toEqual(['revoke.requested', 'grant.succeeded']);
    expect(await run({ connectorId, action: 'grant.' })).toEqual(['grant.succeeded', 'grant.requested']);
    expect(await run({ connectorId: 'not-a-uuid' })).toEqual([]);
  });

  it('refuses a member, as before', async () => {
    const r = await h.gql(await h.token('MEMBER', 'm'), Q, {});
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('GET /audit/export.csv', () => {
  const get = async (query: string, headers: Record<string, string> = {}) => {
    await h.gateway.caughtUp();
    return fetch(`${base}/audit/export.csv${query}`, { headers });
  };

  it('streams the filtered rows as CSV for a platform role, formula-looking cells neutralized', async () => {
    const r = await get('?action=grant.', { authorization: `Bearer ${await h.token('VIEWER', 'v')}` });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/csv');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="warden-audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = (await r.text()).trim().split('\n');
    expect(lines[0]).toBe('id,at,actor,action,connectorId,details');
    expect(lines.slice(1).map((l) => l.split(',')[3])).toEqual(['grant.expired', 'grant.succeeded', 'grant.requested']);
    expect(lines[1]).toContain('2026-01-03T10:00:00.000Z,system,grant.expired,,');
    // JSON details are quoted with doubled quotes.
    expect(lines[2]).toContain('"{""note"":""alice, \\""quoted\\""""}"');

    const all = await (await get('', { authorization: `Bearer ${await h.token('SUPER_ADMIN', 's')}` })).text();
    expect(all).toContain(`'=HYPERLINK`);
    expect(all).not.toMatch(/(^|,)"?=HYPERLINK/m);
  });

  it('is refused without a token (401), to a member (403), cross-site (403) and with a bad time (400)', async () => {
    expect((await get('')).status).toBe(401);
    expect((await get('', { authorization: 'Bearer nonsense' })).status).toBe(401);
    const member = await get('', { authorization: `Bearer ${await h.token('MEMBER', 'm')}` });
    expect(member.status).toBe(403);
    expect(((await member.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
    const admin = `Bearer ${await h.token('SUPER_ADMIN', 's')}`;
    expect((await get('', { authorization: admin, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await get('?since=yesterday', { authorization: admin })).status).toBe(400);
  });

  it('pages through more rows than one batch without losing or repeating any', async () => {
    const values = Array.from({ length: 2_345 }, (_, i) => ({ actor: 'bulk', action: 'bulk.row', details: JSON.stringify({ i }) }));
    await h.db.insertInto('audit_events').values(values).execute();
    const text = await (await get('?actor=bulk', { authorization: `Bearer ${await h.token('VIEWER', 'v')}` })).text();
    const ids = text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[0]));
    expect(ids).toHaveLength(2_345);
    expect(new Set(ids).size).toBe(2_345);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });
});
