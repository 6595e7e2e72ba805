// SOCKS5 UDP header (RFC 1928 §7): byte-exact fixtures both ways for IPv4, IPv6 and domain
// destinations, every malformed shape dropped with its reason, and seeded random bytes never throw.
import { describe, expect, it } from 'vitest';
import { emitSocks5Udp, emitSocks5UdpHeader, ipv6Bytes, parseSocks5Udp } from './socks5-udp.js';

const hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const payload = hex('01000000 aabbccdd');

describe('SOCKS5 UDP header', () => {
  it('IPv4: 198.18.0.1:51820', () => {
    const wire = '0000 00 01 c6120001 ca6c 01000000aabbccdd';
    expect(toHex(emitSocks5Udp('198.18.0.1', 51820, payload))).toBe(wire.replace(/\s+/g, ''));
    const p = parseSocks5Udp(hex(wire));
    expect(p).toMatchObject({ ok: true, address: '198.18.0.1', port: 51820 });
    expect(p.ok && toHex(p.payload)).toBe('01000000aabbccdd');
  });

  it('IPv6: [2001:db8::1]:443 and a dotted tail', () => {
    const wire = '0000 00 04 20010db8000000000000000000000001 01bb 01000000aabbccdd';
    expect(toHex(emitSocks5Udp('2001:db8::1', 443, payload))).toBe(wire.replace(/\s+/g, ''));
    expect(parseSocks5Udp(hex(wire))).toMatchObject({ ok: true, address: '2001:db8::1', port: 443 });
    expect(toHex(ipv6Bytes('::ffff:192.0.2.1'))).toBe('00000000000000000000ffffc0000201');
    expect(toHex(ipv6Bytes('fe80::1:2%eth0'))).toBe('fe800000000000000000000000010002');
    expect(toHex(ipv6Bytes('1:2:3:4:5:6:7:8'))).toBe('00010002000300040005000600070008');
  });

  it('domain: hub.example.io:51820', () => {
    const wire = `0000 00 03 0e ${Buffer.from('hub.example.io').toString('hex')} ca6c 01000000aabbccdd`;
    expect(toHex(emitSocks5Udp('hub.example.io', 51820, payload))).toBe(wire.replace(/\s+/g, ''));
    expect(parseSocks5Udp(hex(wire))).toMatchObject({ ok: true, address: 'hub.example.io', port: 51820 });
  });

  it('an empty payload is a valid datagram; the header can be reused', () => {
    const header = emitSocks5UdpHeader('10.0.0.1', 1);
    expect(toHex(header)).toBe('000000010a0000010001');
    const p = parseSocks5Udp(header);
    expect(p.ok && p.payload.length).toBe(0);
  });

  it('refuses unusable destinations from the caller', () => {
    expect(() => emitSocks5UdpHeader('x'.repeat(256), 1)).toThrow(/1-255 bytes/);
    expect(() => emitSocks5UdpHeader('10.0.0.1', 70000)).toThrow(/port 70000/);
  });

  it('drops malformed datagrams with a reason', () => {
    const cases: Array<[string, string]> = [
      ['000000', 'short'],
      ['0100 00 01 0a000001 0001', 'reserved-not-zero'],
      ['0000 01 01 0a000001 0001 ff', 'fragmented'],
      ['0000 00 05 0a000001 0001', 'bad-address-type'],
      ['0000 00 01 0a0000 01', 'short'],
      ['0000 00 04 20010db8', 'short'],
      ['0000 00 03 00 0001', 'bad-domain'],
      ['0000 00 03 05 6162', 'short'],
      ['0000 00 03 03 610a62 0001', 'bad-domain'],
    ];
    for (const [wire, reason] of cases) expect(parseSocks5Udp(hex(wire)), wire).toEqual({ ok: false, reason });
  });

  it('never throws on random bytes (seeded)', () => {
    const seed = 0x5eed5;
    console.log(`socks5-udp fuzz seed=${seed}`);
    let a = seed;
    const rand = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = new Uint8Array(Math.floor(rand() * 40));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
      // Bias towards plausible headers so the deeper branches run too.
      if (b.length > 3 && rand() < 0.7) b[0] = b[1] = b[2] = 0;
      if (b.length > 3 && rand() < 0.7) b[3] = [1, 3, 4][Math.floor(rand() * 3)]!;
      const p = parseSocks5Udp(b);
      if (p.ok) {
        accepted++;
        expect(p.port).toBeGreaterThanOrEqual(0);
        expect(p.payload.byteOffset + p.payload.length).toBe(b.byteOffset + b.length);
      }
    }
    expect(accepted).toBeGreaterThan(100);
  });
});
