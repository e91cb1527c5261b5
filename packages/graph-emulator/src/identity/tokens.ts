import { generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

export interface AccessClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  appid: string;
  app_displayname: string;
  appidacr: string;
  idtyp: 'app';
  oid: string;
  sub: string;
  tid: string;
  uti: string;
  ver: '1.0';
  roles?: string[];
}

export type VerifyResult = { ok: true; claims: AccessClaims } | { ok: false; message: string };

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
const TOKEN_LIFETIME_S = 3599;
let signingKeys: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

/**
 * Issues and checks the emulator's access tokens: RS256 JWTs in the v1.0 shape Graph receives.
 * Verification is synchronous (node:crypto) and cached because it runs on every Graph request.
 */
export class TokenService {
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
  private readonly cache = new Map<string, AccessClaims>();

  /** `ownAudience()`: the emulator's origin, also accepted as `aud` (tokens requested for `<origin>/.default`). */
  constructor(
    private readonly tenantId: string,
    private readonly ownAudience: () => string | null = () => null,
  ) {
    // One signing key per process is enough (tokens also carry the tenant id); it saves ~50 ms per start.
    signingKeys ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { privateKey, publicKey } = signingKeys;
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.kid = randomUUID().replace(/-/g, '').slice(0, 27);
  }

  jwks(): { keys: Record<string, unknown>[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ ...jwk, kid: this.kid, use: 'sig', alg: 'RS256', kty: 'RSA' }] };
  }

  issue(p: {
    clientId: string;
    displayName: string;
    servicePrincipalId: string;
    roles: string[];
    certificate: boolean;
    lifetimeSeconds?: number;
    audience?: string;
  }): { token: string; expiresIn: number } {
    const now = Math.floor(Date.now() / 1000);
    const life = p.lifetimeSeconds ?? TOKEN_LIFETIME_S;
    const claims: AccessClaims = {
      aud: p.audience ?? GRAPH_AUDIENCE,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + life,
      appid: p.clientId,
      app_displayname: p.displayName,
      appidacr: p.certificate ? '2' : '1',
      idtyp: 'app',
      oid: p.servicePrincipalId,
      sub: p.servicePrincipalId,
      tid: this.tenantId,
      uti: randomUUID().replace(/-/g, ''),
      ver: '1.0',
    };
    // Graph omits the roles claim entirely when nothing is consented.
    if (p.roles.length) claims.roles = [...p.roles];
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: this.kid, x5t: this.kid }));
    const body = b64url(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), this.privateKey).toString('base64url');
    return { token: `${head}.${body}.${sig}`, expiresIn: life };
  }

  verify(token: string): VerifyResult {
    let claims = this.cache.get(token);
    if (!claims) {
      const parts = token.split('.');
      if (parts.length !== 3) return { ok: false, message: 'CompactToken parsing failed with error code: 80049217' };
      const [head, body, sig] = parts as [string, string, string];
      let header: { alg?: string; kid?: string };
      try {
        header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string; kid?: string };
        claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as AccessClaims;
      } catch {
        return { ok: false, message: 'CompactToken parsing failed with error code: 80049217' };
      }
      if (
        header.alg !== 'RS256' ||
        header.kid !== this.kid ||
        !verify('sha256', Buffer.from(`${head}.${body}`), this.publicKey, Buffer.from(sig, 'base64url'))
      ) {
        return { ok: false, message: 'Access token validation failure. Invalid signature.' };
      }
      if ((claims.aud !== GRAPH_AUDIENCE && claims.aud !== this.ownAudience()) || claims.tid !== this.tenantId) {
        return { ok: false, message: 'Access token validation failure. Invalid audience.' };
      }
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(token, claims);
    }
    const now = Math.floor(Date.now() / 1000);
    if (claims.exp <= now || claims.nbf > now + 300) {
      return { ok: false, message: 'Access token has expired or is not yet valid.' };
    }
    return { ok: true, claims };
  }
}
