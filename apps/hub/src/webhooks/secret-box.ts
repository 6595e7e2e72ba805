// Webhook secrets at rest: the hub must sign with them, so they cannot be hashed like tokens; they
// are sealed with AES-256-GCM under a key derived from the hub key (the same on every node), so a
// database dump alone does not reveal them.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface SecretBox {
  seal(plaintext: string): string;
  /** Throws when the value was not sealed with this key (or was altered). */
  open(sealed: string): string;
}

export function createSecretBox(hubPrivateKey: Uint8Array, purpose = 'porthole webhook secrets v1'): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', hubPrivateKey, new Uint8Array(0), purpose, 32));
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    open(sealed) {
      const raw = Buffer.from(sealed, 'base64url');
      if (raw.length < 12 + 16) throw new Error('sealed secret too short');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    },
  };
}
