// The exported packet views and ICMP forms, byte-exact both ways: read fields from captured and
// overlay packets, write them with the setters or emit, and compare with the captured bytes.
import { describe, expect, it } from 'vitest';
import { LINUX_DATA, LINUX_ECHO_REQUEST, LINUX_SYN, OVERLAY_ADMIN_PROHIBITED, OVERLAY_ECHO_REQUEST, SACK_ACK, hex } from '../testing/captured-packets.js';
import {
  buildIcmpv4Packet,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REQUEST,
  ICMP_UNREACH_ADMIN_PROHIBITED,
  IcmpPacket,
  IP_PROTOCOL_ICMP,
  IP_PROTOCOL_TCP,
  IP_PROTOCOL_UDP,
  ipv4LengthError,
  Ipv4Packet,
  isIcmpDestUnreachable,
  isIcmpEcho,
  parseIcmpv4,
  parseIpv4Address,
  TCP_ACK,
  TCP_PSH,
  TCP_SYN,
  tcpLengthError,
  TcpPacket,
  udpLengthError,
  UdpPacket,
  type IcmpRepr,
} from './index.js';

const DEVICE = parseIpv4Address('100.64.0.2');
const HUB = parseIpv4Address('100.64.0.1');
const LO = parseIpv4Address('127.0.0.1');

describe('Ipv4Packet view', () => {
  it('reads every field of a Linux header in place', () => {
    const p = Ipv4Packet.checked(hex(LINUX_SYN));
    expect([p.version, p.headerLen, p.totalLen, p.ident, p.ttl, p.protocol]).toEqual([4, 20, 60, 0xae6b, 64, IP_PROTOCOL_TCP]);
    expect([p.dontFragment, p.moreFragments, p.fragmentOffset, p.isNonFirstFragment]).toEqual([true, false, 0, false]);
    expect([p.srcAddr, p.dstAddr, p.checksum]).toEqual([LO, LO, 0x8e4e]);
    expect(p.verifyChecksum()).toBe(true);
  });

  it('setters and fillChecksum rewrite a header into the captured bytes', () => {
    const original = hex(LINUX_ECHO_REQUEST);
    const copy = Buffer.from(original);
    const p = new Ipv4Packet(copy);
    p.setSrcAddr(DEVICE);
    p.setDstAddr(HUB);
    p.setTtl(1);
    p.setIdent(0);
    p.fillChecksum();
    expect(p.verifyChecksum()).toBe(true);
    expect([p.srcAddr, p.dstAddr, p.ttl, p.ident]).toEqual([DEVICE, HUB, 1, 0]);
    p.setSrcAddr(LO);
    p.setDstAddr(LO);
    p.setTtl(64);
    p.setIdent(0x8574);
    p.fillChecksum();
    expect(copy.toString('hex')).toBe(LINUX_ECHO_REQUEST);
  });

  it('says why a buffer is not an IPv4 packet without throwing', () => {
    const good = hex(LINUX_SYN);
    expect(ipv4LengthError(good)).toBeUndefined();
    expect(ipv4LengthError(good.subarray(0, 19))).toBe('ipv4Truncated');
    expect(ipv4LengthError(good.subarray(0, 59))).toBe('ipv4BadTotalLength');
    const v6 = Buffer.from(good);
    v6[0] = 0x60;
    expect(ipv4LengthError(v6)).toBe('ipv4BadVersion');
    expect(() => Ipv4Packet.checked(v6)).toThrow(/version 6 is not 4/);
  });

  it('marks non-first fragments, which carry no transport header', () => {
    const frag = Buffer.from(hex(LINUX_SYN));
    frag.writeUInt16BE(0x0003, 6); // offset 24 bytes
    const p = Ipv4Packet.checked(frag);
    expect(p.isNonFirstFragment).toBe(true);
    expect(p.fragmentOffset).toBe(24);
  });
});

describe('TcpPacket view', () => {
  it('reads a Linux data segment inside its IPv4 packet, without slicing it out', () => {
    const bytes = hex(LINUX_DATA);
    const ip = Ipv4Packet.checked(bytes);
    expect(tcpLengthError(bytes, ip.headerLen, ip.totalLen)).toBeUndefined();
    const tcp = new TcpPacket(bytes, ip.headerLen, ip.totalLen);
    expect([tcp.srcPort, tcp.dstPort, tcp.seqNumber, tcp.ackNumber]).toEqual([43050, 8080, 0x3807f3af, 0xf7a7beb8]);
    expect([tcp.headerLen, tcp.flags, tcp.window, tcp.urgent]).toEqual([32, TCP_ACK | TCP_PSH, 64, 0]);
    expect(Buffer.from(tcp.payload).toString()).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(tcp.verifyChecksum(ip.srcAddr, ip.dstAddr)).toBe(true);
    expect(tcp.verifyChecksum(ip.srcAddr + 1, ip.dstAddr)).toBe(false);
  });

  it('setters and fillChecksum give back the captured SYN', () => {
    const original = hex(LINUX_SYN);
    const copy = Buffer.from(original);
    const tcp = TcpPacket.checked(copy, 20);
    tcp.setSrcPort(1);
    tcp.setDstPort(2);
    tcp.setSeqNumber(3);
    tcp.setAckNumber(4);
    tcp.setFlags(TCP_ACK);
    tcp.setWindow(5);
    tcp.fillChecksum(LO, LO);
    expect(tcp.verifyChecksum(LO, LO)).toBe(true);
    expect([tcp.srcPort, tcp.dstPort, tcp.seqNumber, tcp.ackNumber, tcp.flags, tcp.window]).toEqual([1, 2, 3, 4, TCP_ACK, 5]);
    tcp.setSrcPort(43050);
    tcp.setDstPort(8080);
    tcp.setSeqNumber(0x3807f3ae);
    tcp.setAckNumber(0);
    tcp.setFlags(TCP_SYN);
    tcp.setWindow(64860);
    tcp.fillChecksum(LO, LO);
    expect(copy.toString('hex')).toBe(LINUX_SYN);
  });

  it('checks header and data offset before any access', () => {
    const seg = hex(SACK_ACK).subarray(20);
    expect(tcpLengthError(seg)).toBeUndefined();
    expect(tcpLengthError(seg, 0, 19)).toBe('tcpTruncated');
    expect(tcpLengthError(seg, 0, 40)).toBe('tcpBadDataOffset'); // header says 52 bytes
    expect(() => TcpPacket.checked(seg, 0, 40)).toThrow(/data offset 52 is outside 20..40/);
  });
});

describe('UdpPacket view', () => {
  it('reads ports and length, bounded by the length field', () => {
    const udp = Buffer.from('d431003500100000deadbeefcafebabe00', 'hex');
    expect(udpLengthError(udp)).toBeUndefined();
    const p = UdpPacket.checked(udp);
    expect([p.srcPort, p.dstPort, p.length, p.checksum]).toEqual([54321, 53, 16, 0]);
    expect(Buffer.from(p.payload).toString('hex')).toBe('deadbeefcafebabe');
    expect(udpLengthError(udp.subarray(0, 7))).toBe('udpTruncated');
    expect(udpLengthError(udp.subarray(0, 15))).toBe('udpBadLength');
    expect(IP_PROTOCOL_UDP).toBe(17);
  });
});

describe('ICMP for the overlay', () => {
  const adminProhibited: IcmpRepr = {
    type: ICMP_DEST_UNREACHABLE,
    code: ICMP_UNREACH_ADMIN_PROHIBITED,
    header: { srcAddr: HUB, dstAddr: DEVICE, protocol: IP_PROTOCOL_TCP, payloadLen: 20, ttl: 64, ident: 0, dontFragment: false, dscpEcn: 0 },
    data: new Uint8Array(8),
  };

  it('builds the echo request the agent and hub send, byte for byte', () => {
    const packet = buildIcmpv4Packet({ srcAddr: DEVICE, dstAddr: HUB }, { type: ICMP_ECHO_REQUEST, identifier: 0x1234, sequence: 7, data: new Uint8Array(0) });
    expect(packet.toString('hex')).toBe(OVERLAY_ECHO_REQUEST);
  });

  it("builds the agent's administratively-prohibited goodbye, byte for byte", () => {
    expect(buildIcmpv4Packet({ srcAddr: DEVICE, dstAddr: HUB }, adminProhibited).toString('hex')).toBe(OVERLAY_ADMIN_PROHIBITED);
  });

  it('parses the goodbye back: the view reads type and code, the repr the quoted header', () => {
    const bytes = hex(OVERLAY_ADMIN_PROHIBITED);
    const ip = Ipv4Packet.checked(bytes);
    expect(ip.protocol).toBe(IP_PROTOCOL_ICMP);
    const view = IcmpPacket.checked(bytes, ip.headerLen, ip.totalLen);
    expect([view.msgType, view.msgCode, view.verifyChecksum()]).toEqual([ICMP_DEST_UNREACHABLE, ICMP_UNREACH_ADMIN_PROHIBITED, true]);
    const repr = parseIcmpv4(ip.payload, true);
    if (!isIcmpDestUnreachable(repr)) throw new Error('expected destination unreachable');
    expect({ ...repr, data: [...repr.data] }).toEqual({ ...adminProhibited, data: [0, 0, 0, 0, 0, 0, 0, 0] });
  });

  it('parses the echo request back and reads its identifier in place', () => {
    const bytes = hex(OVERLAY_ECHO_REQUEST);
    const view = IcmpPacket.checked(bytes, 20);
    expect([view.msgType, view.msgCode, view.echoIdent, view.echoSeqNo, view.data.length]).toEqual([ICMP_ECHO_REQUEST, 0, 0x1234, 7, 0]);
    const repr = parseIcmpv4(bytes.subarray(20), true);
    expect(isIcmpEcho(repr) && [repr.identifier, repr.sequence]).toEqual([0x1234, 7]);
  });

  it('setters and fillChecksum turn the Linux echo request into a reply', () => {
    const bytes = Buffer.from(hex(LINUX_ECHO_REQUEST));
    const icmp = IcmpPacket.checked(bytes, 20);
    icmp.setMsgType(0);
    icmp.fillChecksum();
    expect(icmp.verifyChecksum()).toBe(true);
    expect(icmp.checksum).toBe(0x8c92); // the kernel's reply (LINUX_ECHO_REPLY)
    icmp.setEchoIdent(1);
    icmp.setEchoSeqNo(2);
    expect([icmp.echoIdent, icmp.echoSeqNo]).toEqual([1, 2]);
  });

  it('a destination unreachable with a quote too short to hold a header and 8 bytes is "other"', () => {
    const bytes = Buffer.from(hex(OVERLAY_ADMIN_PROHIBITED)).subarray(0, 50);
    const icmp = new IcmpPacket(bytes, 20);
    icmp.fillChecksum();
    const repr = parseIcmpv4(bytes.subarray(20), true);
    expect(isIcmpDestUnreachable(repr)).toBe(false);
    expect(repr).toEqual({ type: ICMP_DEST_UNREACHABLE, code: ICMP_UNREACH_ADMIN_PROHIBITED });
  });
});
