import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningEmulator } from '@warden/graph-emulator';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GraphError, GraphLinkRefusedError } from '../src';
import { clientFor, small } from './support';

// A Graph answer (or a stored checkpoint) whose nextLink/deltaLink points at another host must not be
// followed: the bearer token would go with it. A plain HTTP server on 127.0.0.1 stands in for that
// host and records every connection and request it gets.
let emu: RunningEmulator;
let trap: Server;
let trapUrl: string;
const connections: number[] = [];
const received: Array<{ url: string; authorization: string | undefined }> = [];

beforeAll(async () => {
  emu = await small({ seed: 41, settings: { latencyMs: 0, jitterMs: 0, faultRate: 0 } });
  trap = createServer((req, res) => {
    received.push({ url: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"value":[]}');
  });
  trap.on('connection', () => connections.push(Date.now()));
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => trap?.close(() => resolve()));
  await emu?.close();
});
beforeEach(() => {
  emu.updateSettings({ linkBaseUrl: null });
  connections.length = 0;
  received.length = 0;
});

function expectNothingSent() {
  expect(received).toEqual([]);
  expect(connections).toEqual([]);
}

describe('links are followed only on the Graph origin', () => {
  it('a nextLink to another host is a GraphLinkRefusedError and nothing (no token) is sent there', async () => {
    const graph = clientFor(emu, 'readonly');
    emu.updateSettings({ linkBaseUrl: trapUrl });
    const pages = graph.pages<{ id: string }>('/v1.0/users?$select=id&$top=5');
    const first = await pages.next();
    expect(first.done).toBe(false);
    expect(first.value!.items).toHaveLength(5);
    expect(first.value!.resumeFrom).toMatch(new RegExp(`^${trapUrl}/v1.0/users`));
    const err = await pages.next().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GraphLinkRefusedError);
    expect(err).toBeInstanceOf(GraphError);
    expect((err as GraphError).code).toBe('LinkOutsideGraphOrigin');
    expect((err as Error).message).toContain(`it is not on this connector's Graph origin ${new URL(emu.config.baseUrl).origin}`);
    // The skip token in the link's query is not repeated in the message.
    expect((err as Error).message).not.toMatch(/skiptoken/i);
    expectNothingSent();
  });

  it('a delta nextLink or a stored deltaLink to another host is refused, not reported as a resync', async () => {
    const graph = clientFor(emu, 'readonly');
    emu.updateSettings({ linkBaseUrl: trapUrl, deltaPageSize: 10 });
    try {
      const round = graph.delta<{ id: string }>('/v1.0/users/delta?$select=id');
      const first = await round.next();
      expect(first.done).toBe(false);
      await expect(round.next()).rejects.toBeInstanceOf(GraphLinkRefusedError);
      // A tampered checkpoint: the stored deltaLink now points elsewhere.
      await expect(graph.delta(`${trapUrl}/v1.0/users/delta?$deltatoken=abc`).next()).rejects.toBeInstanceOf(GraphLinkRefusedError);
      await expect(graph.pages(`${trapUrl}/v1.0/users`, { startAt: `${trapUrl}/v1.0/users?$skiptoken=x` }).next()).rejects.toBeInstanceOf(
        GraphLinkRefusedError,
      );
      expectNothingSent();
    } finally {
      emu.updateSettings({ deltaPageSize: 100 });
    }
  });

  it('same host with another scheme or port, or credentials in the URL, is another origin too', async () => {
    const graph = clientFor(emu, 'readonly');
    const base = new URL(emu.config.baseUrl);
    const trapPort = new URL(trapUrl).port;
    for (const link of [
      `http://${base.host}/v1.0/users`,
      `https://${base.hostname}:${trapPort}/v1.0/users`,
      `https://user:pw@${base.host}/v1.0/users`,
      `${trapUrl.replace('127.0.0.1', 'localhost')}/v1.0/users`,
    ]) {
      await expect(graph.request('GET', link), link).rejects.toBeInstanceOf(GraphLinkRefusedError);
    }
    expectNothingSent();
    // A link on the Graph origin itself is followed as before.
    const ok = await graph.request<{ value: unknown[] }>('GET', `${emu.config.baseUrl}/v1.0/users?$top=1&$select=id`);
    expect(ok.body.value).toHaveLength(1);
  });

  it("the SDK's fluent client on the chain cannot be sent elsewhere either", async () => {
    const graph = clientFor(emu, 'readonly');
    await expect(graph.sdk.api(`${trapUrl}/v1.0/users`).get()).rejects.toThrow();
    expectNothingSent();
  });
});

describe('tokens are requested for the configured Graph origin', () => {
  it("asks for '<graphBaseUrl origin>/.default' and gets a token whose aud is that origin, which the emulator accepts", async () => {
    emu.resetStats();
    const graph = clientFor(emu, 'readonly');
    const token = await graph.getAccessToken();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { aud: string };
    const origin = new URL(emu.config.baseUrl).origin;
    expect(claims.aud).toBe(origin);
    expect(claims.aud).not.toBe('https://graph.microsoft.com');
    expect(emu.stats().tokenScopes).toEqual({ [`${origin}/.default`]: 1 });
    const users = await graph.get<{ value: unknown[] }>('/v1.0/users?$top=2&$select=id');
    expect(users.value).toHaveLength(2);
  });
});
