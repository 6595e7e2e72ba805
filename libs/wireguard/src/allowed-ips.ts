// Cryptokey routing table (whitepaper §3; wireguard-go device/allowedips.go semantics): each prefix
// belongs to at most one owner (re-adding moves it), lookups return the longest matching prefix.
// One hash map per prefix length, searched from the longest length in use: a hub with tens of
// thousands of /32 peers does one or two map lookups per packet.
import { formatCidr, parseCidr, type Cidr } from './ip-address.js';

interface Entry<T> {
  owner: T;
  cidr: Cidr;
}

export class AllowedIps<T> {
  private readonly v4 = new Map<number, Map<number, Entry<T>>>(); // length → masked address → entry
  private readonly v6 = new Map<number, Map<bigint, Entry<T>>>();
  private v4Lengths: number[] = []; // descending
  private v6Lengths: number[] = [];
  private readonly byOwner = new Map<T, Set<Entry<T>>>();

  /** Adds `cidr` (e.g. "10.0.0.0/8", "fd00::1") for `owner`, taking it from any previous owner. */
  insert(cidrText: string, owner: T): void {
    const cidr = parseCidr(cidrText);
    const entry: Entry<T> = { owner, cidr };
    const previous = this.put(cidr, entry);
    if (previous) this.byOwner.get(previous.owner)?.delete(previous);
    let owned = this.byOwner.get(owner);
    if (!owned) this.byOwner.set(owner, (owned = new Set()));
    owned.add(entry);
  }

  /** Removes every prefix of `owner`. */
  removeOwner(owner: T): void {
    const owned = this.byOwner.get(owner);
    if (!owned) return;
    for (const entry of owned) this.delete(entry.cidr);
    this.byOwner.delete(owner);
  }

  /** The owner's prefixes in normalised text form ("10.0.0.0/24"). */
  prefixesOf(owner: T): string[] {
    return [...(this.byOwner.get(owner) ?? [])].map((e) => formatCidr(e.cidr));
  }

  /** Longest-prefix match for an IPv4 address given as an unsigned 32-bit integer. */
  lookupV4(address: number): T | undefined {
    for (const len of this.v4Lengths) {
      const hit = this.v4.get(len)!.get(len === 0 ? 0 : (address & v4Mask(len)) >>> 0);
      if (hit) return hit.owner;
    }
    return undefined;
  }

  /** Longest-prefix match for the 16-byte IPv6 address at `bytes[offset…offset+16)`. */
  lookupV6(bytes: Uint8Array, offset = 0): T | undefined {
    if (this.v6Lengths.length === 0) return undefined;
    const address = v6BigInt(bytes, offset);
    for (const len of this.v6Lengths) {
      const hit = this.v6.get(len)!.get(len === 0 ? 0n : address >> BigInt(128 - len));
      if (hit) return hit.owner;
    }
    return undefined;
  }

  /** Longest-prefix match for 4 or 16 address bytes. */
  lookup(address: Uint8Array): T | undefined {
    if (address.length === 4) return this.lookupV4(readU32BE(address, 0));
    if (address.length === 16) return this.lookupV6(address, 0);
    return undefined;
  }

  private put(cidr: Cidr, entry: Entry<T>): Entry<T> | undefined {
    const len = cidr.prefixLength;
    if (cidr.family === 4) {
      let table = this.v4.get(len);
      if (!table) {
        this.v4.set(len, (table = new Map()));
        this.v4Lengths = [...this.v4.keys()].sort((a, b) => b - a);
      }
      const key = readU32BE(cidr.bytes, 0);
      const previous = table.get(key);
      table.set(key, entry);
      return previous;
    }
    let table = this.v6.get(len);
    if (!table) {
      this.v6.set(len, (table = new Map()));
      this.v6Lengths = [...this.v6.keys()].sort((a, b) => b - a);
    }
    const key = len === 0 ? 0n : v6BigInt(cidr.bytes, 0) >> BigInt(128 - len);
    const previous = table.get(key);
    table.set(key, entry);
    return previous;
  }

  private delete(cidr: Cidr): void {
    const len = cidr.prefixLength;
    if (cidr.family === 4) {
      const table = this.v4.get(len);
      table?.delete(readU32BE(cidr.bytes, 0));
      if (table && table.size === 0) {
        this.v4.delete(len);
        this.v4Lengths = this.v4Lengths.filter((l) => l !== len);
      }
      return;
    }
    const table = this.v6.get(len);
    table?.delete(len === 0 ? 0n : v6BigInt(cidr.bytes, 0) >> BigInt(128 - len));
    if (table && table.size === 0) {
      this.v6.delete(len);
      this.v6Lengths = this.v6Lengths.filter((l) => l !== len);
    }
  }
}

function v4Mask(len: number): number {
  return len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0;
}

export function readU32BE(b: Uint8Array, offset: number): number {
  return ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
}

function v6BigInt(b: Uint8Array, offset: number): bigint {
  let hi = 0n;
  for (let i = 0; i < 16; i += 4) hi = (hi << 32n) | BigInt(readU32BE(b, offset + i));
  return hi;
}
