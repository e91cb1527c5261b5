import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness';

let h: Harness;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  token = await h.token('VIEWER', 'auditor');
});
afterAll(async () => h?.close());

describe('GraphQL over HTTP (graphql-http serverAudits)', () => {
  // Every request carries a valid token, as every real client of this gateway does.
  const fetchFn = (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  for (const audit of serverAudits({ url: () => h.gateway.url, fetchFn })) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      if (result.status !== 'ok') {
        const detail = `${result.reason}: ${result.response.status} ${await result.response.text().catch(() => '')}`;
        // MUST audits fail the build; SHOULD/MAY ones fail too, since all pass today and a regression should be noticed.
        expect.fail(`${result.status}: ${detail}`);
      }
    });
  }
});
