// Cryptokey routing: longest-prefix match for IPv4 and IPv6, prefix ownership moving between peers,
// removal, text normalisation, and a seeded random comparison against a naive linear twin.
import { describe, expect, it } from 'vitest';
import { AllowedIps } from './allowed-ips.js';
import { formatIp, maskBytes, parseCidr, parseIp } from './ip-address.js';
import { seededRandom, testSeed } from './testing/seeded.js';

const ip = (text: string) => parseIp(text)!;

describe('IP address text', () => {
  it('parses and formats IPv4, IPv6 (compressed, embedded IPv4) in RFC 5952 form', () => {
    expect(Array.from(ip('10.1.2.3'))).toEqual([10, 1, 2, 3]);
    expect(formatIp(ip('fd00:0:0:0:0:0:0:1'))).toBe('fd00::1');
    expect(formatIp(ip('::'))).toBe('::');
    expect(formatIp(ip('::ffff:192.0.2.1'))).toBe('::ffff:c000:201');
    expect(formatIp(ip('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(formatIp(ip('2001:db8:0:1:1:1:1:1'))).toBe('2001:db8:0:1:1:1:1:1');
    expect(parseIp('10.0.0.256')).toBeUndefined();
    expect(parseIp('fe80::1%eth0')).toBeUndefined();
  });

  it('parses CIDRs, clears host bits, and names the bad value in errors', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 4, bytes: Uint8Array.from([10, 0, 0, 0]), prefixLength: 8 });
    expect(parseCidr('fd00::1').prefixLength).toBe(128);
    expect(formatIp(parseCidr('fd12:3456::ffff/33').bytes)).toBe('fd12:3456::');
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/"10.0.0.0\/33": prefix length must be 0–32, got "33"/);
    expect(() => parseCidr('example.com/8')).toThrow(/"example.com" is not an IPv4 or IPv6 address/);
    expect(() => parseCidr('10.0.0.0/x')).toThrow(/prefix length/);
  });
});

describe('AllowedIps', () => {
  it('returns the owner of the longest matching prefix, per family', () => {
    const t = new AllowedIps<string>();
    t.insert('0.0.0.0/0', 'default');
    t.insert('10.0.0.0/8', 'a');
    t.insert('10.1.0.0/16', 'b');
    t.insert('10.1.2.3/32', 'c');
    t.insert('fd00::/8', 'v6');
    t.insert('fd00:1::/32', 'v6b');
    expect(t.lookup(ip('10.1.2.3'))).toBe('c');
    expect(t.lookup(ip('10.1.2.4'))).toBe('b');
    expect(t.lookup(ip('10.2.0.1'))).toBe('a');
    expect(t.lookup(ip('192.0.2.1'))).toBe('default');
    expect(t.lookup(ip('fd00:1::5'))).toBe('v6b');
    expect(t.lookup(ip('fd22::5'))).toBe('v6');
    expect(t.lookup(ip('2001:db8::1'))).toBeUndefined();
  });

  it('moves a prefix to its latest owner and removes all prefixes of an owner', () => {
    const t = new AllowedIps<string>();
    t.insert('10.0.0.0/24', 'a');
    t.insert('10.0.1.0/24', 'a');
    t.insert('10.0.0.7/24', 'b'); // same prefix after masking → moves to b
    expect(t.lookup(ip('10.0.0.1'))).toBe('b');
    expect(t.prefixesOf('a')).toEqual(['10.0.1.0/24']);
    expect(t.prefixesOf('b')).toEqual(['10.0.0.0/24']);
    t.removeOwner('a');
    expect(t.lookup(ip('10.0.1.1'))).toBeUndefined();
    expect(t.lookup(ip('10.0.0.1'))).toBe('b');
    t.removeOwner('b');
    expect(t.lookup(ip('10.0.0.1'))).toBeUndefined();
  });

  it('matches a naive linear twin on seeded random tables and lookups (IPv4 and IPv6)', () => {
    const rand = seededRandom(testSeed('allowed-ips vs naive'));
    const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
    for (let round = 0; round < 30; round++) {
      const t = new AllowedIps<number>();
      const naive: Array<{ owner: number; bytes: Uint8Array; len: number }> = [];
      const family = round % 2 === 0 ? 4 : 16;
      // Few distinct first bytes so that prefixes overlap often.
      const addr = () => {
        const b = randomBytes(family);
        b[0] = [10, 172, 192][Math.floor(rand() * 3)]!;
        if (rand() < 0.5) b[1] = 0;
        return b;
      };
      for (let i = 0; i < 200; i++) {
        const bytes = addr();
        const len = Math.floor(rand() * (family * 8 + 1));
        const owner = Math.floor(rand() * 20);
        const text = `${formatIp(bytes)}/${len}`;
        t.insert(text, owner);
        const masked = maskBytes(bytes, len);
        const existing = naive.findIndex((e) => e.len === len && Buffer.from(e.bytes).equals(Buffer.from(masked)));
        if (existing >= 0) naive.splice(existing, 1);
        naive.push({ owner, bytes: masked, len });
        if (rand() < 0.05) {
          const gone = Math.floor(rand() * 20);
          t.removeOwner(gone);
          for (let j = naive.length - 1; j >= 0; j--) if (naive[j]!.owner === gone) naive.splice(j, 1);
        }
      }
      for (let i = 0; i < 500; i++) {
        const probe = rand() < 0.5 ? addr() : naive[Math.floor(rand() * naive.length)]?.bytes ?? addr();
        let best: { owner: number; len: number } | undefined;
        for (const e of naive) {
          if (Buffer.from(maskBytes(probe, e.len)).equals(Buffer.from(e.bytes)) && (!best || e.len > best.len)) best = e;
        }
        const got = t.lookup(probe);
        if (got !== best?.owner) throw new Error(`round ${round}: ${formatIp(probe)} → ${got}, naive ${best?.owner}`);
      }
    }
  });
});
