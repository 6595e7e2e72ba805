// SOCKS5 UDP request header (RFC 1928 §7): every datagram to or from a UDP ASSOCIATE relay is
// prefixed with RSV(2) FRAG(1) ATYP(1) DST.ADDR DST.PORT(2). Fragmentation is not supported (a
// FRAG other than 0 is dropped, as §7 allows); parsing never throws on network input.
import { isIPv4, isIPv6 } from 'node:net';

export const SOCKS5_ATYP_IPV4 = 0x01;
export const SOCKS5_ATYP_DOMAIN = 0x03;
export const SOCKS5_ATYP_IPV6 = 0x04;

export interface Socks5UdpDatagram {
  /** DST.ADDR: an IPv4/IPv6 address in text form or a domain name. */
  address: string;
  port: number;
  /** A view into the input, not a copy. */
  payload: Uint8Array;
}

export type Socks5UdpDropReason = 'short' | 'reserved-not-zero' | 'fragmented' | 'bad-address-type' | 'bad-domain';

export type Socks5UdpParse = ({ ok: true } & Socks5UdpDatagram) | { ok: false; reason: Socks5UdpDropReason };

function ipv4Bytes(address: string): Uint8Array {
  return new Uint8Array(address.split('.').map(Number));
}

/** 16 bytes of a valid IPv6 address (`::` compression, a dotted IPv4 tail, a zone id ignored). */
export function ipv6Bytes(address: string): Uint8Array {
  let text = address.replace(/%.*$/, '');
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v = ipv4Bytes(dotted[2]!);
    text = `${dotted[1]}${((v[0]! << 8) | v[1]!).toString(16)}:${((v[2]! << 8) | v[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  const groupsOf = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const left = groupsOf(halves[0]);
  const right = groupsOf(halves[1]);
  const groups = halves.length > 1 ? [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right] : left;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = (g >>> 8) & 0xff;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function formatIpv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // RFC 5952 §4.2: compress the longest run of two or more zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The header length for `address` (throws for an unusable destination: caller input, not network). */
function addressField(address: string): { atyp: number; bytes: Uint8Array } {
  if (isIPv4(address)) return { atyp: SOCKS5_ATYP_IPV4, bytes: ipv4Bytes(address) };
  if (isIPv6(address)) return { atyp: SOCKS5_ATYP_IPV6, bytes: ipv6Bytes(address) };
  const name = Buffer.from(address, 'ascii');
  if (name.length === 0 || name.length > 255) throw new Error(`socks5-udp: destination "${address}" is not an address or a domain name of 1-255 bytes`);
  const bytes = new Uint8Array(1 + name.length);
  bytes[0] = name.length;
  bytes.set(name, 1);
  return { atyp: SOCKS5_ATYP_DOMAIN, bytes };
}

/** The header alone, for a destination used many times (prepend it to each payload). */
export function emitSocks5UdpHeader(address: string, port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`socks5-udp: port ${port} is not 0-65535`);
  const { atyp, bytes } = addressField(address);
  const out = new Uint8Array(4 + bytes.length + 2);
  out[3] = atyp; // RSV = 0x0000, FRAG = 0
  out.set(bytes, 4);
  out[4 + bytes.length] = port >>> 8;
  out[5 + bytes.length] = port & 0xff;
  return out;
}

/** Header + payload in one new buffer. */
export function emitSocks5Udp(address: string, port: number, payload: Uint8Array, header = emitSocks5UdpHeader(address, port)): Uint8Array {
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** Parses a datagram from the relay; anything malformed is a drop with its reason. */
export function parseSocks5Udp(datagram: Uint8Array): Socks5UdpParse {
  if (datagram.length < 4) return { ok: false, reason: 'short' };
  if (datagram[0] !== 0 || datagram[1] !== 0) return { ok: false, reason: 'reserved-not-zero' };
  if (datagram[2] !== 0) return { ok: false, reason: 'fragmented' };
  let offset = 4;
  let address: string;
  switch (datagram[3]) {
    case SOCKS5_ATYP_IPV4:
      if (datagram.length < offset + 4 + 2) return { ok: false, reason: 'short' };
      address = `${datagram[4]}.${datagram[5]}.${datagram[6]}.${datagram[7]}`;
      offset += 4;
      break;
    case SOCKS5_ATYP_IPV6:
      if (datagram.length < offset + 16 + 2) return { ok: false, reason: 'short' };
      address = formatIpv6(datagram.subarray(4, 20));
      offset += 16;
      break;
    case SOCKS5_ATYP_DOMAIN: {
      if (datagram.length < 5) return { ok: false, reason: 'short' };
      const len = datagram[4]!;
      if (len === 0) return { ok: false, reason: 'bad-domain' };
      if (datagram.length < 5 + len + 2) return { ok: false, reason: 'short' };
      const name = datagram.subarray(5, 5 + len);
      // Printable ASCII only: a name is shown in logs and status, never raw bytes from the network.
      for (const c of name) if (c < 0x21 || c > 0x7e) return { ok: false, reason: 'bad-domain' };
      address = Buffer.from(name).toString('ascii');
      offset = 5 + len;
      break;
    }
    default:
      return { ok: false, reason: 'bad-address-type' };
  }
  const port = (datagram[offset]! << 8) | datagram[offset + 1]!;
  return { ok: true, address, port, payload: datagram.subarray(offset + 2) };
}
