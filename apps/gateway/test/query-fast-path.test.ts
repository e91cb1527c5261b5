import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type Fixture } from './support/fixture';
import { startHarness, type Harness } from './support/harness';

let h: Harness;
let f: Fixture;
let token: string;

beforeAll(async () => {
  h = await startHarness({ RESPONSE_CACHE_MB: '0', MAX_BODY_BYTES: '2048' });
  f = await seedTenant(h.db, { userCount: 20 });
  token = await h.token('VIEWER', 'vic');
});
afterAll(async () => h?.close());

interface Sent {
  status: number;
  headers: Record<string, string | undefined>;
  text: string;
}

/** A raw HTTP request, so the test decides every header and how the body travels (stated length or chunked). */
function send(body: string | Buffer, o: { headers?: Record<string, string>; chunked?: boolean; path?: string } = {}): Promise<Sent> {
  const url = new URL(h.gateway.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: o.path ?? '/graphql',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          ...(o.chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: {
              'content-type': res.headers['content-type'],
              'content-length': res.headers['content-length'],
              'x-request-id': res.headers['x-request-id'] as string | undefined,
            },
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    if (o.chunked) {
      // Two writes without a length: node sends the body chunked.
      const b = Buffer.from(body);
      req.write(b.subarray(0, 5));
      req.end(b.subarray(5));
    } else req.end(body);
  });
}

const query = (c: string) =>
  JSON.stringify({
    query: 'query($c: ID!) { connector(id: $c) { id displayName } resources(connectorId: $c, first: 3) { totalCount } }',
    variables: { c },
  });

describe('the HTTP fast path before Express', () => {
  it('answers a plain query with the bytes and headers of the Express route and of Apollo', async () => {
    const body = query(f.connectorId);
    const before = { ...h.gateway.fastPath };
    const fast = await send(body, { headers: { 'x-request-id': 'fast-1' } });
    expect(h.gateway.fastPath.answered).toBe(before.answered + 1);
    // Chunked: Express reads the body, and the same answer is computed inside it.
    const viaExpress = await send(body, { chunked: true, headers: { 'x-request-id': 'fast-1' } });
    // `extensions`: the fast path reads the body and hands it to Apollo.
    const apollo = await send(JSON.stringify({ ...(JSON.parse(body) as object), extensions: {} }), {
      headers: { 'x-request-id': 'fast-1' },
    });
    expect(h.gateway.fastPath).toEqual({ answered: before.answered + 1, handedOver: before.handedOver + 1 });
    expect(fast.status).toBe(200);
    expect(fast.headers['x-request-id']).toBe('fast-1');
    expect(JSON.parse(fast.text)).toMatchObject({ data: { connector: { id: f.connectorId }, resources: { totalCount: 26 } } });
    expect(viaExpress).toEqual(fast);
    expect(apollo).toEqual(fast);
  });

  it('gives every answer a request id of its own when the client sends none or an unusable one', async () => {
    const a = await send(query(f.connectorId));
    const b = await send(query(f.connectorId), { headers: { 'x-request-id': 'not a valid id!' } });
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('reads a body as the JSON parser does: a leading BOM and whitespace are fine, anything else is the same 400', async () => {
    const ok = await send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(` \n${query(f.connectorId)}`)]));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).data.connector.id).toBe(f.connectorId);
    const invalid = { errors: [{ message: 'the request body is not valid JSON', extensions: { code: 'BAD_USER_INPUT' } }] };
    for (const bad of ['{"query": ', '"a string"', '12', 'null']) {
      for (const chunked of [false, true]) {
        const r = await send(bad, { chunked });
        expect({ bad, chunked, status: r.status, body: JSON.parse(r.text) as unknown }).toEqual({
          bad,
          chunked,
          status: 400,
          body: invalid,
        });
      }
    }
  });

  it('leaves a body over MAX_BODY_BYTES to Express, which refuses it with 413 either way', async () => {
    const big = JSON.stringify({ query: `{ __typename ${' '.repeat(3000)}}` });
    for (const chunked of [false, true]) {
      const r = await send(big, { chunked });
      expect(r.status).toBe(413);
      expect(JSON.parse(r.text).errors[0].message).toBe('request body exceeds 2048 bytes');
    }
  });

  it('hands a request with errors to Apollo, which answers it as before', async () => {
    const before = { ...h.gateway.fastPath };
    const r = await send(JSON.stringify({ query: '{ nope }' }));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).errors[0].message).toMatch(/nope/);
    expect(JSON.parse(r.text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const member = await send(JSON.stringify({ query: '{ connectors { totalCount } }' }), {
      headers: { authorization: `Bearer ${await h.token('MEMBER', 'mia')}` },
    });
    expect(JSON.parse(member.text).errors[0].extensions.code).toBe('FORBIDDEN');
    const bad = await send(query(f.connectorId), { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect(h.gateway.fastPath).toEqual({ answered: before.answered, handedOver: before.handedOver + 3 });
  });
});
