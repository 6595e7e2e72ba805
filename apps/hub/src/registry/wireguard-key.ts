// WireGuard public keys as they travel in JSON and wg-quick files: standard base64 of 32 bytes
// (44 characters with one '=' of padding). Keys with small order on Curve25519 are refused: a DH
// with them yields a known (all-zero) shared secret (WireGuard whitepaper §5.4.1; RFC 7748 §6.1).
import { ValidationError } from '../errors.js';

const BASE64_KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Small-order points (and their non-canonical encodings modulo p), little-endian hex, top bit cleared. */
const LOW_ORDER_POINTS = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]);

/** Validates a base64 WireGuard public key and returns it unchanged; throws ValidationError naming `field`. */
export function parsePublicKey(input: string, field = 'publicKey'): string {
  if (!BASE64_KEY_RE.test(input)) {
    throw new ValidationError(
      `${field} must be a WireGuard public key: 44 characters of standard base64 encoding 32 bytes (got ${input.length} characters)`,
      { field },
    );
  }
  const bytes = Buffer.from(input, 'base64');
  bytes[31]! &= 0x7f; // X25519 ignores the top bit (RFC 7748 §5)
  if (LOW_ORDER_POINTS.has(bytes.toString('hex'))) {
    throw new ValidationError(`${field} is a small-order Curve25519 point and cannot be a peer key`, { field });
  }
  return input;
}
