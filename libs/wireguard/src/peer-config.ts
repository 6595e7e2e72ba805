// Validation of configuration input (keys, allowed IPs, keepalive): errors name the field and
// never echo key material. Runs before any state changes, so bad input changes nothing.
import type { LocalIdentity } from './handshake.js';
import { parseCidr } from './ip-address.js';
import { decodeKey } from './keys.js';
import type { KeyInput } from './types.js';
import { importPrivateKey, rawPublicKey } from './x25519.js';

export function identityFrom(privateKey: KeyInput): LocalIdentity {
  const key = importPrivateKey(toKey(privateKey, 'privateKey'));
  return { privateKey: key, publicKey: rawPublicKey(key) };
}

export function toKey(input: KeyInput, field: string): Uint8Array {
  if (typeof input === 'string') {
    try {
      return decodeKey(input);
    } catch (err) {
      throw new Error(`${field}: ${(err as Error).message}`);
    }
  }
  if (!(input instanceof Uint8Array) || input.length !== 32) {
    throw new Error(`${field}: expected 32 bytes or a 44-character base64 key`);
  }
  return input;
}

export function validateAllowedIps(list: string[]): void {
  if (!Array.isArray(list)) throw new Error('allowedIps: expected an array of CIDR strings');
  for (const cidr of list) parseCidr(cidr);
}

export function keepaliveToMs(seconds: number | undefined): number {
  if (seconds === undefined || seconds === 0) return 0;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 65535) {
    throw new Error(`persistentKeepaliveSeconds: must be an integer 1–65535 or 0 (off), got ${seconds}`);
  }
  return seconds * 1000;
}
