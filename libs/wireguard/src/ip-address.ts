// Textual IPv4/IPv6 addresses and CIDR prefixes (RFC 4291 §2.2 text forms, RFC 4632 prefixes,
// RFC 5952 canonical output) for allowed-IPs configuration. Configuration input: errors throw,
// naming the offending value.
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** Network address with host bits cleared: 4 or 16 bytes. */
  bytes: Uint8Array;
  prefixLength: number;
}

/** Parses an IPv4 or IPv6 address (no zone index) into 4 or 16 bytes; undefined if invalid. */
export function parseIp(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const out = new Uint8Array(16);
  const [headText, tailText] = text.includes('::') ? text.split('::') : [text, undefined];
  const head = headText ? headText.split(':') : [];
  const tail = tailText ? tailText.split(':') : [];
  const words = (groups: string[]) =>
    groups.flatMap((g) => {
      if (g.includes('.')) {
        const b = g.split('.').map(Number);
        return [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
      }
      return [parseInt(g, 16)];
    });
  const h = words(head);
  const t = words(tail);
  h.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  t.forEach((w, i) => {
    const at = 16 - 2 * (t.length - i);
    out[at] = w >> 8;
    out[at + 1] = w & 0xff;
  });
  return out;
}

/** Formats 4 or 16 address bytes; IPv6 in RFC 5952 form (longest zero run compressed, lowercase). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 1; // a single zero word is not compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexWords = words.map((w) => w.toString(16));
  if (bestStart < 0) return hexWords.join(':');
  const left = hexWords.slice(0, bestStart).join(':');
  const right = hexWords.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** Parses `addr/len` or a bare address (a host prefix) and clears the host bits, as `wg` does. */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const bytes = parseIp(addressText);
  if (!bytes) throw new Error(`allowed IP "${text}": "${addressText}" is not an IPv4 or IPv6 address`);
  const max = bytes.length * 8;
  let prefixLength = max;
  if (slash >= 0) {
    const lenText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
      throw new Error(`allowed IP "${text}": prefix length must be 0–${max}, got "${lenText}"`);
    }
    prefixLength = Number(lenText);
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes: maskBytes(bytes, prefixLength), prefixLength };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.bytes)}/${c.prefixLength}`;
}

/** A copy of `bytes` with everything after the first `prefixLength` bits cleared. */
export function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = bytes.slice();
  for (let bit = prefixLength; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}
