// Byte-exact parse/emit of IPv4, ICMP and TCP (with MSS, WS, SACK-permitted, SACK and TS options)
// against Linux-captured packets, plus wrong-length, bad-checksum and fragment cases.
import { describe, expect, it } from 'vitest';
import { fold, internetChecksum, sumWords, sumWordsBytewise } from './checksum.js';
import { Prng } from '../testing/prng.js';
import {
  LINUX_DATA,
  LINUX_ECHO_REPLY,
  LINUX_ECHO_REQUEST,
  LINUX_FIN_ACK,
  LINUX_RST_ACK,
  LINUX_SYN,
  LINUX_SYN_ACK,
  SACK_ACK,
  hex,
} from '../testing/captured-packets.js';
import { emitIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, icmpEchoLen, parseIcmpv4, type IcmpEchoRepr } from './icmpv4.js';
import { emitIpv4, IPV4_HEADER_LEN, Ipv4Packet, parseIpv4 } from './ipv4.js';
import { formatIpv4Address, parseIpv4Address } from './ipv4-address.js';
import { emitTcp, parseTcp, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpHeaderLen, type TcpRepr } from './tcp.js';
import { WireError } from './wire-error.js';

const LO = parseIpv4Address('127.0.0.1');

/** Parses a whole IPv4+TCP packet, re-emits it from the parsed forms and returns both. */
function roundTripTcp(text: string): { ip: ReturnType<typeof parseIpv4>; tcp: TcpRepr; out: Buffer } {
  const bytes = hex(text);
  const ip = parseIpv4(Ipv4Packet.checked(bytes), true);
  const tcp = parseTcp(bytes.subarray(IPV4_HEADER_LEN), ip.srcAddr, ip.dstAddr, true);
  const out = Buffer.alloc(IPV4_HEADER_LEN + tcpHeaderLen(tcp) + tcp.payload.length);
  emitIpv4({ ...ip, payloadLen: out.length - IPV4_HEADER_LEN }, out, 0);
  emitTcp(tcp, out, IPV4_HEADER_LEN, ip.srcAddr, ip.dstAddr);
  return { ip, tcp, out };
}

function expectWireError(fn: () => unknown, reason: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    expect((err as WireError).reason).toBe(reason);
    return;
  }
  throw new Error(`expected a WireError(${reason})`);
}

describe('ipv4 addresses', () => {
  it('parses and formats dotted quads', () => {
    expect(parseIpv4Address('100.64.0.1')).toBe(0x64400001);
    expect(parseIpv4Address('255.255.255.255')).toBe(0xffffffff);
    expect(formatIpv4Address(0x64400001)).toBe('100.64.0.1');
    expect(() => parseIpv4Address('256.0.0.1')).toThrow(/256/);
    expect(() => parseIpv4Address('::1')).toThrow(/dotted-quad/);
  });
});

describe('checksum (RFC 1071)', () => {
  it('matches the RFC 1071 §3 worked example', () => {
    // Words 0001 f203 f4f5 f6f7 sum to 0x2ddf0 → folded 0xddf2 → checksum 0x220d.
    expect(internetChecksum(hex('0001f203f4f5f6f7'))).toBe(0x220d);
    // Odd length pads with a zero byte.
    expect(internetChecksum(hex('0001f203f4f5f6'))).toBe(~(0x0001 + 0xf203 + 0xf4f5 + 0xf600 - 0x20000 + 2) & 0xffff);
  });
});

describe('checksum fast path', () => {
  it('equals the byte-wise sum for random lengths and alignments (seeded)', () => {
    const prng = Prng.printed(11);
    // Several backing buffers (small ones and one past 1 MiB), random offsets and lengths.
    const backings = [Buffer.from(prng.bytes(4096)), Buffer.from(prng.bytes(4096)), Buffer.from(prng.bytes((1 << 20) + 4096))];
    for (let n = 0; n < 2000; n++) {
      const start = prng.int(64);
      const end = start + prng.int(2000);
      const view = backings[prng.int(backings.length)]!.subarray(prng.int(8));
      const initial = prng.int(1 << 20);
      expect(fold(sumWords(view, start, Math.min(end, view.length), initial))).toBe(
        fold(sumWordsBytewise(view, start, Math.min(end, view.length), initial)),
      );
    }
  });
});

describe('ipv4 header', () => {
  it('parses a Linux header and emits the same bytes', () => {
    const bytes = hex(LINUX_SYN);
    const ip = parseIpv4(Ipv4Packet.checked(bytes), true);
    expect(ip).toEqual({
      srcAddr: LO,
      dstAddr: LO,
      protocol: 6,
      payloadLen: 40,
      ttl: 64,
      ident: 0xae6b,
      dontFragment: true,
      dscpEcn: 0,
    });
    const out = Buffer.alloc(20);
    emitIpv4(ip, out);
    expect(out.toString('hex')).toBe(LINUX_SYN.slice(0, 40));
  });

  it('rejects truncation, bad version, bad lengths, bad checksum and fragments', () => {
    const good = hex(LINUX_SYN);
    expectWireError(() => Ipv4Packet.checked(good.subarray(0, 19)), 'ipv4Truncated');
    const v6 = Buffer.from(good);
    v6[0] = 0x65;
    expectWireError(() => Ipv4Packet.checked(v6), 'ipv4BadVersion');
    const ihl = Buffer.from(good);
    ihl[0] = 0x44;
    expectWireError(() => Ipv4Packet.checked(ihl), 'ipv4BadHeaderLength');
    expectWireError(() => Ipv4Packet.checked(good.subarray(0, 59)), 'ipv4BadTotalLength');
    const shortTotal = Buffer.from(good);
    shortTotal.writeUInt16BE(19, 2);
    expectWireError(() => Ipv4Packet.checked(shortTotal), 'ipv4BadTotalLength');
    const badSum = Buffer.from(good);
    badSum[8] = 63; // TTL changed, checksum not updated
    expectWireError(() => parseIpv4(Ipv4Packet.checked(badSum), true), 'ipv4BadChecksum');
    expect(parseIpv4(Ipv4Packet.checked(badSum), false).ttl).toBe(63);
    const frag = Buffer.from(good);
    frag.writeUInt16BE(0x2000, 6); // MF
    expectWireError(() => parseIpv4(Ipv4Packet.checked(frag), false), 'ipv4Fragment');
    const offset = Buffer.from(good);
    offset.writeUInt16BE(0x0001, 6); // offset 8 bytes
    expectWireError(() => parseIpv4(Ipv4Packet.checked(offset), false), 'ipv4Fragment');
  });

  it('ignores link padding beyond total length and skips header options', () => {
    const padded = Buffer.concat([hex(LINUX_RST_ACK), Buffer.alloc(6)]);
    const packet = Ipv4Packet.checked(padded);
    expect(packet.payload.length).toBe(20);
  });
});

describe('icmp echo', () => {
  it('parses the Linux echo request and emits the exact reply the kernel sent', () => {
    const req = hex(LINUX_ECHO_REQUEST);
    const ip = parseIpv4(Ipv4Packet.checked(req), true);
    const icmp = parseIcmpv4(req.subarray(20), true) as IcmpEchoRepr;
    expect(icmp.type).toBe(ICMP_ECHO_REQUEST);
    expect(icmp.identifier).toBe(0x239e);
    expect(icmp.sequence).toBe(1);
    expect(icmp.data.length).toBe(56);
    const reply: IcmpEchoRepr = { ...icmp, type: ICMP_ECHO_REPLY };
    const out = Buffer.alloc(20 + icmpEchoLen(reply));
    emitIpv4({ ...ip, ident: 0x8575, dontFragment: false, payloadLen: icmpEchoLen(reply) }, out);
    emitIcmpEcho(reply, out, 20);
    expect(out.toString('hex')).toBe(LINUX_ECHO_REPLY);
  });

  it('rejects a short message and a bad checksum', () => {
    const req = hex(LINUX_ECHO_REQUEST).subarray(20);
    expectWireError(() => parseIcmpv4(req.subarray(0, 7), true), 'icmpTruncated');
    const bad = Buffer.from(req);
    bad[20] ^= 1;
    expectWireError(() => parseIcmpv4(bad, true), 'icmpBadChecksum');
  });
});

describe('tcp segments', () => {
  it('round-trips the Linux SYN with MSS, SACK-permitted, timestamps and window scale', () => {
    const { tcp, out } = roundTripTcp(LINUX_SYN);
    expect(tcp).toMatchObject({
      srcPort: 43050,
      dstPort: 8080,
      seq: 0x3807f3ae,
      ack: 0,
      flags: TCP_SYN,
      window: 64860,
      mss: 1380,
      windowScale: 10,
      sackPermitted: true,
      tsVal: 3820580074,
      tsEcr: 0,
      sackBlocks: undefined,
    });
    expect(tcp.payload.length).toBe(0);
    expect(out.toString('hex')).toBe(LINUX_SYN);
  });

  it('round-trips the SYN-ACK, a data segment, a FIN and a RST', () => {
    const synAck = roundTripTcp(LINUX_SYN_ACK);
    expect(synAck.tcp.flags).toBe(TCP_SYN | TCP_ACK);
    expect(synAck.tcp.ack).toBe(0x3807f3af);
    expect(synAck.tcp.tsEcr).toBe(3820580074);
    expect(synAck.out.toString('hex')).toBe(LINUX_SYN_ACK);

    const data = roundTripTcp(LINUX_DATA);
    expect(data.tcp.flags).toBe(TCP_ACK | TCP_PSH);
    expect(Buffer.from(data.tcp.payload).toString()).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(data.tcp.mss).toBeUndefined();
    expect(data.tcp.tsVal).toBe(3820580074);
    expect(data.out.toString('hex')).toBe(LINUX_DATA);

    const fin = roundTripTcp(LINUX_FIN_ACK);
    expect(fin.tcp.flags).toBe(TCP_FIN | TCP_ACK);
    expect(fin.out.toString('hex')).toBe(LINUX_FIN_ACK);

    const rst = roundTripTcp(LINUX_RST_ACK);
    expect(rst.tcp).toMatchObject({ flags: TCP_RST | TCP_ACK, seq: 0, ack: 0x40e402c9, window: 0, tsVal: undefined });
    expect(rst.out.toString('hex')).toBe(LINUX_RST_ACK);
  });

  it('round-trips SACK blocks after timestamps', () => {
    const { tcp, out } = roundTripTcp(SACK_ACK);
    expect(tcp.sackBlocks).toEqual([1000, 2000, 3000, 4000]);
    expect(tcp.tsVal).toBe(0x01020304);
    expect(tcp.tsEcr).toBe(0x0a0b0c0d);
    expect(out.toString('hex')).toBe(SACK_ACK);
  });

  it('rejects truncation, bad data offset, bad checksum, bad option lengths and port 0', () => {
    const pkt = hex(LINUX_SYN);
    const seg = pkt.subarray(20);
    expectWireError(() => parseTcp(seg.subarray(0, 19), LO, LO, true), 'tcpTruncated');
    const off = Buffer.from(seg);
    off[12] = 0x40; // 16 bytes
    expectWireError(() => parseTcp(off, LO, LO, false), 'tcpBadDataOffset');
    off[12] = 0xf0; // 60 bytes > 40
    expectWireError(() => parseTcp(off, LO, LO, false), 'tcpBadDataOffset');
    const sum = Buffer.from(seg);
    sum[30] ^= 0x80;
    expectWireError(() => parseTcp(sum, LO, LO, true), 'tcpBadChecksum');
    // The checksum covers the pseudo-header: the right bytes from another source fail.
    expectWireError(() => parseTcp(seg, LO + 1, LO, true), 'tcpBadChecksum');
    const opt = Buffer.from(seg);
    opt[21] = 1; // MSS option length 1
    expectWireError(() => parseTcp(opt, LO, LO, false), 'tcpBadOption');
    opt[21] = 40; // runs past the header
    expectWireError(() => parseTcp(opt, LO, LO, false), 'tcpBadOption');
    const port = Buffer.from(seg);
    port.writeUInt16BE(0, 2);
    expectWireError(() => parseTcp(port, LO, LO, false), 'tcpBadPort');
  });

  it('skips unknown options and ignores known ones with a wrong length', () => {
    // Header 32 bytes: unknown kind 30 len 4, MSS with length 3 (ignored), NOP, EOL padding.
    const seg = Buffer.alloc(32);
    seg.writeUInt16BE(1, 0);
    seg.writeUInt16BE(2, 2);
    seg[12] = 0x80;
    seg[13] = TCP_SYN;
    Buffer.from([30, 4, 0xaa, 0xbb, 2, 3, 5, 1, 3, 3, 20, 0]).copy(seg, 20);
    const tcp = parseTcp(seg, LO, LO, false);
    expect(tcp.mss).toBeUndefined();
    expect(tcp.windowScale).toBe(14); // 20 clamped per RFC 7323 §2.3
  });
});
