// WireGuard key pairs for an admin laptop, made locally with node:crypto X25519 (RFC 7748): the
// private key never leaves this machine; only the public key goes to the hub. Base64 as wg(8) prints.
import { generateKeyPairSync } from 'node:crypto';

export interface WgKeyPair {
  privateKey: string;
  publicKey: string;
}

export function generateWgKeyPair(): WgKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const priv = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  // Clamp as `wg genkey` does (RFC 7748 §5), so the file looks like any other WireGuard key.
  priv[0]! &= 248;
  priv[31]! &= 127;
  priv[31]! |= 64;
  return { privateKey: priv.toString('base64'), publicKey: pub.toString('base64') };
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
