import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM envelope for connector credentials at rest: `v1:<keyId>:<iv>:<tag>:<ciphertext>`
 * (base64url parts). Several keys may be configured; the first encrypts, any of them decrypts, which
 * is what makes key rotation possible without downtime (see README "Rotating the secret key").
 * The connector id is bound as additional authenticated data so a ciphertext cannot be moved
 * to another connector's row.
 */
export interface SecretKey {
  id: string;
  key: Buffer;
}

export class SecretBox {
  private readonly keys: SecretKey[];

  constructor(keys: SecretKey[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    for (const k of keys) {
      if (k.key.length !== 32) throw new Error(`secret key '${k.id}' must be 32 bytes (AES-256), got ${k.key.length}`);
      if (!/^[A-Za-z0-9_-]+$/.test(k.id)) throw new Error(`secret key id '${k.id}' may only use letters, digits, _ and -`);
    }
    this.keys = keys;
  }

  /** Parses `id1:base64key,id2:base64key` (or a single bare base64 key, id `k1`). */
  static fromConfig(value: string): SecretBox {
    const parts = value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const keys = parts.map((p, i) => {
      const idx = p.indexOf(':');
      const id = idx > 0 ? p.slice(0, idx) : `k${i + 1}`;
      const material = idx > 0 ? p.slice(idx + 1) : p;
      return { id, key: Buffer.from(material, 'base64') };
    });
    return new SecretBox(keys);
  }

  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  encrypt(plaintext: string, context: string): string {
    const k = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', k.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', k.id, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join(':');
  }

  decrypt(envelope: string, context: string): string {
    const [version, keyId, iv, tag, ct] = envelope.split(':');
    if (version !== 'v1' || !keyId || !iv || !tag || ct === undefined) throw new Error('unrecognised secret envelope');
    const k = this.keys.find((x) => x.id === keyId);
    if (!k) throw new Error(`secret was encrypted with key '${keyId}', which is not configured`);
    const decipher = createDecipheriv('aes-256-gcm', k.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** True when the envelope is not under the current key and should be re-encrypted. */
  needsRotation(envelope: string): boolean {
    return envelope.split(':')[1] !== this.currentKeyId;
  }
}

/** What a connector's encrypted column holds. */
export type ConnectorCredentials =
  { kind: 'secret'; clientSecret: string } | { kind: 'certificate'; certificatePem: string; privateKeyPem: string };

export function sealCredentials(box: SecretBox, connectorId: string, creds: ConnectorCredentials): string {
  return box.encrypt(JSON.stringify(creds), `connector:${connectorId}`);
}

export function openCredentials(box: SecretBox, connectorId: string, envelope: string): ConnectorCredentials {
  return JSON.parse(box.decrypt(envelope, `connector:${connectorId}`)) as ConnectorCredentials;
}
