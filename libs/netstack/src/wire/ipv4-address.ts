// IPv4 addresses as unsigned 32-bit numbers (network order value), the form the stack uses
// internally so tuple keys and comparisons stay arithmetic.
const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses "100.64.0.1"; throws a TypeError naming the value when it is not a dotted quad. */
export function parseIpv4Address(text: string): number {
  const m = DOTTED.exec(text);
  if (!m) throw new TypeError(`ipv4: "${text}" is not a dotted-quad IPv4 address`);
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new TypeError(`ipv4: octet ${octet} in "${text}" is above 255`);
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4Address(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

export function isIpv4Address(text: string): boolean {
  try {
    parseIpv4Address(text);
    return true;
  } catch {
    return false;
  }
}

/** Reads a 4-byte address at `offset` as an unsigned number. */
export function readAddress(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}

export function writeAddress(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 24;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

/**
 * Sources that can never be a real peer (RFC 1122 §3.2.1.3): 0/8 "this network", 127/8
 * loopback, 224/4 multicast, 240/4 reserved and broadcast. Answering them would reflect traffic.
 */
export function isUnusableSource(addr: number): boolean {
  const first = addr >>> 24;
  return first === 0 || first === 127 || first >= 224;
}

