import { createHash, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

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
const GRAPH_APP_AUDIENCE = '00000003-0000-0000-c000-000000000000';
const TOKEN_LIFETIME_S = 3599;
let signingKeys: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Set on the previous key at rotation: it stays published (and accepted) until then (ms). */
  retiresAt?: number;
}

/** Entra-style key id: base64url of the SHA-1 of the public key (also used as `x5t`). */
function keyId(publicKey: KeyObject, salt: string): string {
  return createHash('sha1')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .update(salt)
    .digest('base64url');
}

/**
 * Issues and checks the emulator's tokens: RS256 JWTs (v1.0 app tokens for Graph, v2.0 id and
 * access tokens for OpenID Connect clients). Verification is synchronous (node:crypto) and cached
 * because it runs on every Graph request. Keys rotate like Entra's: `rotate()` publishes a new key
 * and signs with it; the previous one stays in the JWKS (and valid) for a while.
 */
export class TokenService {
  private keys: SigningKey[];
  private readonly cache = new Map<string, AccessClaims>();

  /**
   * `ownAudience()`: the emulator's origin, also accepted as `aud` (tokens requested for `<origin>/.default`);
   * `aliasAudience()`: the `linkBaseUrl` origin when set — the emulator answers there too (behind a proxy).
   */
  constructor(
    private readonly tenantId: string,
    private readonly ownAudience: () => string | null = () => null,
    private readonly aliasAudience: () => string | null = () => null,
  ) {
    // One first key per process is enough (tokens also carry the tenant id and a per-instance kid); it saves ~50 ms per start.
    signingKeys ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { privateKey, publicKey } = signingKeys;
    this.keys = [{ kid: keyId(publicKey, randomUUID()), privateKey, publicKey }];
  }

  /** The key new tokens are signed with. */
  get kid(): string {
    return (this.keys[0] as SigningKey).kid;
  }

  get publicKey(): KeyObject {
    return (this.keys[0] as SigningKey).publicKey;
  }

  /** Published keys: the current one first, then the previous one until it retires. */
  private published(): SigningKey[] {
    const now = Date.now();
    const live = this.keys.filter((k) => k.retiresAt === undefined || k.retiresAt > now);
    if (live.length !== this.keys.length) {
      this.keys = live;
      this.cache.clear();
    }
    return live;
  }

  /** New signing key from now on; the current one stays published for `previousKeyTtlSeconds` (or until the next rotation). */
  rotate(previousKeyTtlSeconds = 86_400): string {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const current = this.keys[0] as SigningKey;
    const next: SigningKey = { kid: keyId(publicKey, randomUUID()), privateKey, publicKey };
    this.keys = [next, { ...current, retiresAt: Date.now() + previousKeyTtlSeconds * 1000 }];
    this.cache.clear();
    return next.kid;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return {
      keys: this.published().map((k) => {
        const jwk = k.publicKey.export({ format: 'jwk' });
        return { kty: 'RSA', use: 'sig', kid: k.kid, x5t: k.kid, n: jwk.n, e: jwk.e, alg: 'RS256', issuer: `${this.issuerBase()}/v2.0` };
      }),
    };
  }

  private issuerBase(): string {
    const own = this.ownAudience();
    return own ? `${own}/${this.tenantId}` : this.tenantId;
  }

  /** Signs any claim set with the current key (header: typ, alg, kid, x5t as Entra's). */
  sign(claims: object): string {
    const key = this.published()[0] as SigningKey;
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: key.kid, x5t: key.kid }));
    const body = b64url(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), key.privateKey).toString('base64url');
    return `${head}.${body}.${sig}`;
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
    return { token: this.sign(claims), expiresIn: life };
  }

  verify(token: string): VerifyResult {
    const keys = this.published();
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
      const key = keys.find((k) => k.kid === header.kid);
      if (
        header.alg !== 'RS256' ||
        !key ||
        !verify('sha256', Buffer.from(`${head}.${body}`), key.publicKey, Buffer.from(sig, 'base64url'))
      ) {
        return { ok: false, message: 'Access token validation failure. Invalid signature.' };
      }
      // Graph accepts its resource URI and its app id as audience (delegated tokens carry the latter).
      if (
        (claims.aud !== GRAPH_AUDIENCE &&
          claims.aud !== GRAPH_APP_AUDIENCE &&
          claims.aud !== this.ownAudience() &&
          claims.aud !== this.aliasAudience()) ||
        claims.tid !== this.tenantId
      ) {
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
