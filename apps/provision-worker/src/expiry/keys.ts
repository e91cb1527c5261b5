/** Idempotency keys of the system's expiry revokes start with this; the rest is derived in scan.ts. */
export const EXPIRY_KEY_PREFIX = 'expiry:';
