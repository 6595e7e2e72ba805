// WireGuard key pairs for an admin laptop, made locally (@porthole/wireguard: X25519, clamped as
// `wg genkey` does): the private key never leaves this machine; only the public key goes to the hub.
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';

export interface WgKeyPair {
  privateKey: string;
  publicKey: string;
}

export function generateWgKeyPair(): WgKeyPair {
  const privateKey = generatePrivateKey();
  return { privateKey: encodeKey(privateKey), publicKey: encodeKey(publicKeyFromPrivate(privateKey)) };
}

/**
 * Fills the private key into the hub's wg-quick text, which carries a commented placeholder
 * (`# PrivateKey = <…>`) in [Interface]; inserts the line after [Interface] if there is none.
 */
export function withPrivateKey(config: string, privateKey: string): string {
  const lines = config.split('\n');
  const placeholder = lines.findIndex((l) => /^\s*#?\s*PrivateKey\s*=/i.test(l));
  if (placeholder >= 0) {
    lines[placeholder] = `PrivateKey = ${privateKey}`;
  } else {
    const iface = lines.findIndex((l) => l.trim().toLowerCase() === '[interface]');
    if (iface < 0) throw new Error('the hub’s configuration has no [Interface] section');
    lines.splice(iface + 1, 0, `PrivateKey = ${privateKey}`);
  }
  return lines.join('\n');
}
