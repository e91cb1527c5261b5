import { startEmulator } from '../src/index';
import type { RunningEmulator, StartOptions } from '../src/index';

export async function start(opts: StartOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ size: 'S', seed: 42, ...opts });
}

export async function getToken(emu: RunningEmulator, appName = 'provisioning'): Promise<string> {
  const app = emu.app(appName);
  const res = await fetch(`${emu.config.authorityHost}/${emu.config.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: app.clientId,
      client_secret: app.clientSecret,
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
    }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface Json {
  [k: string]: unknown;
}

export async function graph(
  emu: RunningEmulator,
  token: string,
  pathOrUrl: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: Json }> {
  const url = pathOrUrl.startsWith('https://') ? pathOrUrl : `${emu.config.baseUrl}/v1.0${pathOrUrl}`;
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  let body: Json = {};
  if (text) {
    try {
      body = JSON.parse(text) as Json;
    } catch {
      body = { text };
    }
  }
  return { status: res.status, headers: res.headers, body };
}

export function decodeJwt(token: string): Json {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as Json;
}
