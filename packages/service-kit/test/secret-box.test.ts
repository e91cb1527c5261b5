import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, openCredentials, sealCredentials } from '../src/secret-box';

const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('round-trips credentials without the plaintext appearing in the envelope', () => {
    const box = SecretBox.fromConfig(`a:${k1}`);
    const env = sealCredentials(box, 'conn-1', { kind: 'secret', clientSecret: 'hunter2-very-secret' });
    expect(env).not.toContain('hunter2');
    expect(env.startsWith('v1:a:')).toBe(true);
    expect(openCredentials(box, 'conn-1', env)).toEqual({ kind: 'secret', clientSecret: 'hunter2-very-secret' });
  });

  it('refuses a ciphertext moved to another connector or tampered with', () => {
    const box = SecretBox.fromConfig(`a:${k1}`);
    const env = box.encrypt('s3cret', 'connector:1');
    expect(() => box.decrypt(env, 'connector:2')).toThrow();
    const parts = env.split(':');
    parts[4] = Buffer.from('other').toString('base64url');
    expect(() => box.decrypt(parts.join(':'), 'connector:1')).toThrow();
  });

  it('rotates: a new first key encrypts, the old key still decrypts', () => {
    const old = SecretBox.fromConfig(`a:${k1}`);
    const env = old.encrypt('s3cret', 'ctx');
    const rotated = SecretBox.fromConfig(`b:${k2},a:${k1}`);
    expect(rotated.decrypt(env, 'ctx')).toBe('s3cret');
    expect(rotated.needsRotation(env)).toBe(true);
    expect(rotated.needsRotation(rotated.encrypt('x', 'ctx'))).toBe(false);
    expect(() => SecretBox.fromConfig(`b:${k2}`).decrypt(env, 'ctx')).toThrow(/key 'a'/);
  });

  it('rejects keys of the wrong length', () => {
    expect(() => SecretBox.fromConfig(`a:${randomBytes(16).toString('base64')}`)).toThrow(/32 bytes/);
  });
});
