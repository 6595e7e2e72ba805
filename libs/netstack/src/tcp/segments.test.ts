// Packet-level behaviour of one stack against a scripted peer: handshake options, RST rules
// (RFC 9293 §3.10.7, RFC 5961), probes, ICMP echo and the drop counters.
import { beforeEach, describe, expect, it } from 'vitest';
import type { NetStack, NetStackOptions } from '../stack/net-stack.js';
import { buildSegment, parsePacket, type SegmentSpec } from '../testing/packets.js';
import { LINUX_SYN_OPTS, ScriptedPeer } from '../testing/scripted-peer.js';
import { emitIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseIcmpv4, type IcmpEchoRepr } from '../wire/icmpv4.js';
import { emitIpv4, IP_PROTOCOL_ICMP } from '../wire/ipv4.js';
import { parseIpv4Address } from '../wire/ipv4-address.js';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpRepr } from '../wire/tcp.js';
import type { TcpError } from './tcp-error.js';

const US = '100.64.0.1';
const PEER = '100.64.0.2';

let peer: ScriptedPeer;
let stack: NetStack;

function make(options: Partial<NetStackOptions> = {}): NetStack {
  peer = new ScriptedPeer(options, US, PEER);
  return peer.stack;
}
const inject = (spec: Omit<SegmentSpec, 'src' | 'dst'>): void => peer.inject(spec);
const sent = (): TcpRepr[] => peer.sent();
function only(): TcpRepr {
  const segs = sent();
  expect(segs).toHaveLength(1);
  return segs[0]!;
}
const handshake = (synOpts?: Partial<TcpRepr>, ackWindow?: number) => peer.handshake(synOpts, ackWindow);

beforeEach(() => {
  stack = make();
});

describe('handshake options', () => {
  it('answers a Linux-style SYN with MSS 1380, SACK-permitted, timestamps and window scale 7', () => {
    stack.listen(80, () => {});
    inject({ srcPort: 40000, dstPort: 80, seq: 5000, flags: TCP_SYN, window: 64240, ...LINUX_SYN_OPTS });
    const synAck = only();
    expect(synAck.flags).toBe(TCP_SYN | TCP_ACK);
    expect(synAck.ack).toBe(5001);
    expect(synAck.mss).toBe(1380);
    expect(synAck.windowScale).toBe(7); // 4 MiB buffer >> 7 fits 16 bits
    expect(synAck.sackPermitted).toBe(true);
    expect(synAck.tsEcr).toBe(1000);
    expect(synAck.window).toBe(65535); // the SYN-ACK window is never scaled (RFC 7323 §2.2)
  });

  it('answers a bare SYN without the options the peer did not offer, and honours MSS 536', () => {
    const { conn } = handshake({}, 60000);
    const syn = conn;
    expect(syn.negotiated.wsOk).toBe(false);
    expect(syn.negotiated.sackOk).toBe(false);
    expect(syn.negotiated.tsOk).toBe(false);
    expect(syn.negotiated.segSize).toBe(536); // RFC 9293 §3.7.1 default when no MSS option
    stack.call(conn, peer.now, () => conn.send(Buffer.alloc(3000, 1), peer.now));
    const segs = sent();
    // 3000 bytes: five full 536-byte segments; Nagle holds the 320-byte tail while data is unacked.
    expect(segs.map((s) => s.payload.length)).toEqual([536, 536, 536, 536, 536]);
    for (const s of segs) {
      expect(s.tsVal).toBeUndefined();
      expect(s.window).toBeLessThanOrEqual(65535);
    }
    stack.call(conn, peer.now, () => conn.setNoDelay(true, peer.now));
    expect(sent().map((s) => s.payload.length)).toEqual([320]);
  });

  it('treats SYN with ECE and CWR as a plain SYN (macOS/iOS clients)', () => {
    stack.listen(80, () => {});
    inject({ srcPort: 40000, dstPort: 80, seq: 1, flags: TCP_SYN | TCP_ECE | TCP_CWR, window: 65535, mss: 1380 });
    const synAck = only();
    expect(synAck.flags).toBe(TCP_SYN | TCP_ACK); // no ECE: we do not negotiate ECN
  });

  it('sends data segments with timestamps and a scaled window after the handshake', () => {
    const { conn } = handshake();
    expect(conn.state).toBe('ESTABLISHED');
    expect(conn.snd.wnd).toBe(502 << 7);
    stack.call(conn, peer.now, () => conn.send(Buffer.from('hello'), peer.now));
    const seg = only();
    expect(Buffer.from(seg.payload).toString()).toBe('hello');
    expect(seg.flags).toBe(TCP_ACK | TCP_PSH);
    expect(seg.tsVal).toBeDefined();
    expect(seg.tsEcr).toBe(1001);
    expect(seg.window).toBe(32768); // 4 MiB >> 7
  });
});

describe('resets (RFC 9293 §3.10.7.1, RFC 5961)', () => {
  it('a SYN to a closed port gets <SEQ=0><ACK=SEQ+1><RST,ACK>; an ACK gets <SEQ=SEG.ACK><RST>', () => {
    inject({ srcPort: 40000, dstPort: 81, seq: 777, flags: TCP_SYN, window: 1000 });
    const rst = only();
    expect(rst).toMatchObject({ flags: TCP_RST | TCP_ACK, seq: 0, ack: 778, window: 0 });
    inject({ srcPort: 40000, dstPort: 81, seq: 777, ack: 123456, flags: TCP_ACK, window: 1000, payload: Buffer.from('xy') });
    expect(only()).toMatchObject({ flags: TCP_RST, seq: 123456 });
    // Never a RST for a RST.
    inject({ srcPort: 40000, dstPort: 81, seq: 777, flags: TCP_RST });
    expect(sent()).toHaveLength(0);
  });

  it('a RST with an in-window but inexact sequence only draws a challenge ACK', () => {
    const { conn, iss, closed } = handshake();
    inject({ srcPort: 40000, dstPort: 80, seq: 5001 + 1000, flags: TCP_RST });
    const ack = only();
    expect(ack.flags).toBe(TCP_ACK);
    expect(ack.seq).toBe((iss + 1) >>> 0); // our SND.NXT, not anything from the RST
    expect(ack.ack).toBe(5001);
    expect(conn.state).toBe('ESTABLISHED');
    expect(stack.stats.tcp.challengeAcks).toBe(1);
    // Out of window: silently dropped.
    inject({ srcPort: 40000, dstPort: 80, seq: 5001 + 50_000_000, flags: TCP_RST });
    expect(sent()).toHaveLength(0);
    expect(conn.state).toBe('ESTABLISHED');
    // Exact: reset.
    inject({ srcPort: 40000, dstPort: 80, seq: 5001, flags: TCP_RST });
    expect(sent()).toHaveLength(0);
    expect(conn.state).toBe('CLOSED');
    expect((closed() as TcpError).code).toBe('ECONNRESET');
    expect(stack.connectionCount).toBe(0);
  });

  it('a SYN on an established connection draws a challenge ACK and changes nothing', () => {
    const { conn, iss } = handshake();
    inject({ srcPort: 40000, dstPort: 80, seq: 9_999_999, flags: TCP_SYN, window: 100 });
    const ack = only();
    expect(ack).toMatchObject({ flags: TCP_ACK, seq: (iss + 1) >>> 0, ack: 5001 });
    expect(conn.state).toBe('ESTABLISHED');
  });

  it('an ACK for data never sent is answered with an ACK and ignored', () => {
    const { conn, iss } = handshake();
    inject({ srcPort: 40000, dstPort: 80, seq: 5001, ack: (iss + 5000) >>> 0, flags: TCP_ACK, window: 502, tsVal: 1002, tsEcr: 1 });
    expect(only()).toMatchObject({ flags: TCP_ACK, seq: (iss + 1) >>> 0 });
    expect(conn.snd.una).toBe(1);
  });

  it('in SYN-SENT an ACK for another incarnation gets a RST and the SYN is retried', () => {
    const conn = stack.connect(PEER, 80, peer.now);
    const syn = only();
    expect(syn.flags).toBe(TCP_SYN);
    inject({ srcPort: 80, dstPort: syn.srcPort, seq: 42, ack: (syn.seq + 1000) >>> 0, flags: TCP_SYN | TCP_ACK, window: 1000 });
    expect(only()).toMatchObject({ flags: TCP_RST, seq: (syn.seq + 1000) >>> 0 });
    expect(conn.state).toBe('SYN-SENT');
    peer.now += 1000;
    stack.tick(peer.now);
    expect(only()).toMatchObject({ flags: TCP_SYN, seq: syn.seq });
  });

  it('a RST in SYN-SENT counts only when it acknowledges our SYN', () => {
    let error: TcpError | undefined;
    const conn = stack.connect(PEER, 80, peer.now);
    conn.handler = { onClose: (e) => (error = e) };
    const syn = only();
    inject({ srcPort: 80, dstPort: syn.srcPort, seq: 0, ack: (syn.seq + 7) >>> 0, flags: TCP_RST | TCP_ACK });
    expect(conn.state).toBe('SYN-SENT');
    inject({ srcPort: 80, dstPort: syn.srcPort, seq: 0, ack: (syn.seq + 1) >>> 0, flags: TCP_RST | TCP_ACK });
    expect(conn.state).toBe('CLOSED');
    expect(error?.code).toBe('ECONNREFUSED');
  });
});

describe('probes and timers', () => {
  it('zero-window probes carry SEQ = SND.UNA - 1 and back off exponentially', () => {
    const { conn, iss } = handshake();
    // The peer closes its window.
    inject({ srcPort: 40000, dstPort: 80, seq: 5001, ack: (iss + 1) >>> 0, flags: TCP_ACK, window: 0, tsVal: 1002, tsEcr: 1 });
    stack.call(conn, peer.now, () => conn.send(Buffer.alloc(1000, 1), peer.now));
    expect(sent()).toHaveLength(0);
    const probeTimes: number[] = [];
    for (let i = 0; i < 200 && probeTimes.length < 5; i++) {
      peer.now = stack.nextDeadline()!;
      stack.tick(peer.now);
      for (const s of sent()) {
        expect(s).toMatchObject({ flags: TCP_ACK, seq: iss >>> 0 });
        expect(s.payload.length).toBe(0);
        probeTimes.push(peer.now);
        // The peer answers every probe (still zero window): the connection must not give up.
        inject({ srcPort: 40000, dstPort: 80, seq: 5001, ack: (iss + 1) >>> 0, flags: TCP_ACK, window: 0, tsVal: 1003 + i, tsEcr: 1 });
        sent();
      }
    }
    expect(probeTimes).toHaveLength(5);
    const gaps = probeTimes.slice(1).map((t, i) => t - probeTimes[i]!);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]! * 2 - 1);
    // The window opens: data flows at once.
    inject({ srcPort: 40000, dstPort: 80, seq: 5001, ack: (iss + 1) >>> 0, flags: TCP_ACK, window: 100, tsVal: 2000, tsEcr: 1 });
    const data = sent();
    expect(data.reduce((n, s) => n + s.payload.length, 0)).toBe(1000);
  });

  it('TIME-WAIT re-acknowledges a retransmitted FIN and restarts 2*MSL', () => {
    const { conn, iss } = handshake();
    stack.call(conn, peer.now, () => conn.shutdown(peer.now));
    expect(only().flags).toBe(TCP_FIN | TCP_ACK);
    inject({ srcPort: 40000, dstPort: 80, seq: 5001, ack: (iss + 2) >>> 0, flags: TCP_FIN | TCP_ACK, window: 502, tsVal: 1002, tsEcr: 1 });
    expect(conn.state).toBe('TIME-WAIT');
    expect(only()).toMatchObject({ flags: TCP_ACK, ack: 5002 });
    peer.now += 30_000;
    stack.tick(peer.now);
    inject({ srcPort: 40000, dstPort: 80, seq: 5001, ack: (iss + 2) >>> 0, flags: TCP_FIN | TCP_ACK, window: 502, tsVal: 1003, tsEcr: 1 });
    expect(only()).toMatchObject({ flags: TCP_ACK, ack: 5002 });
    peer.now += 59_000;
    stack.tick(peer.now);
    expect(conn.state).toBe('TIME-WAIT');
    peer.now += 2_000;
    stack.tick(peer.now);
    expect(conn.state).toBe('CLOSED');
    expect(stack.connectionCount).toBe(0);
  });

  it('out-of-order data is acknowledged at once with SACK blocks', () => {
    const { iss } = handshake();
    const ack = (iss + 1) >>> 0;
    inject({ srcPort: 40000, dstPort: 80, seq: 5001 + 1000, ack, flags: TCP_ACK, window: 502, tsVal: 1002, tsEcr: 1, payload: Buffer.alloc(500, 2) });
    const dup = only();
    expect(dup.ack).toBe(5001);
    expect(dup.sackBlocks).toEqual([6001, 6501]);
    inject({ srcPort: 40000, dstPort: 80, seq: 5001 + 2000, ack, flags: TCP_ACK, window: 502, tsVal: 1003, tsEcr: 1, payload: Buffer.alloc(500, 3) });
    expect(only().sackBlocks).toEqual([7001, 7501, 6001, 6501]); // newest block first (RFC 2018 §4)
    inject({ srcPort: 40000, dstPort: 80, seq: 5001, ack, flags: TCP_ACK, window: 502, tsVal: 1004, tsEcr: 1, payload: Buffer.alloc(1000, 1) });
    const filled = only();
    expect(filled.ack).toBe(6501);
    expect(filled.sackBlocks).toEqual([7001, 7501]);
  });
});

describe('ICMP and drops', () => {
  function echoRequest(dst: string, data: Uint8Array): Buffer {
    const req: IcmpEchoRepr = { type: ICMP_ECHO_REQUEST, identifier: 0x1234, sequence: 7, data };
    const buf = Buffer.alloc(28 + data.length);
    emitIpv4({ srcAddr: parseIpv4Address(PEER), dstAddr: parseIpv4Address(dst), protocol: IP_PROTOCOL_ICMP, payloadLen: 8 + data.length, ttl: 64, ident: 9, dontFragment: false, dscpEcn: 0 }, buf);
    emitIcmpEcho(req, buf, 20);
    return buf;
  }

  it('answers ping with the same identifier, sequence and data', () => {
    const data = Buffer.from('0123456789abcdef'.repeat(4));
    stack.receive(echoRequest(US, data), peer.now);
    expect(peer.out).toHaveLength(1);
    const reply = parsePacket(peer.out[0]!);
    expect(reply.ip.srcAddr).toBe(parseIpv4Address(US));
    expect(reply.ip.dstAddr).toBe(parseIpv4Address(PEER));
    const icmp = parseIcmpv4(peer.out[0]!.subarray(20), true) as IcmpEchoRepr;
    expect(icmp).toMatchObject({ type: ICMP_ECHO_REPLY, identifier: 0x1234, sequence: 7 });
    expect(Buffer.from(icmp.data).equals(data)).toBe(true);
    expect(stack.stats.icmpEchoReplies).toBe(1);
  });

  it('counts packets not for us, fragments, bad checksums and unknown protocols', () => {
    stack.receive(echoRequest('100.64.0.9', Buffer.alloc(8)), peer.now);
    expect(stack.stats.drops.ipv4NotForUs).toBe(1);
    const frag = echoRequest(US, Buffer.alloc(8));
    frag[6] = 0x20; // MF
    frag.writeUInt16BE(0, 10);
    frag.writeUInt16BE(internetChecksumOf(frag.subarray(0, 20)), 10);
    stack.receive(frag, peer.now);
    expect(stack.stats.drops.ipv4Fragment).toBe(1);
    const badIcmp = echoRequest(US, Buffer.alloc(8));
    badIcmp[30] ^= 1;
    stack.receive(badIcmp, peer.now);
    expect(stack.stats.drops.icmpBadChecksum).toBe(1);
    const udp = echoRequest(US, Buffer.alloc(8));
    udp[9] = 17;
    udp.writeUInt16BE(0, 10);
    udp.writeUInt16BE(internetChecksumOf(udp.subarray(0, 20)), 10);
    stack.receive(udp, peer.now);
    expect(stack.stats.drops.ipv4UnknownProtocol).toBe(1);
    const tcp = buildSegment({ src: PEER, dst: US, srcPort: 1, dstPort: 80, seq: 1, flags: TCP_SYN });
    tcp[tcp.length - 1] ^= 0xff;
    stack.receive(tcp, peer.now);
    expect(stack.stats.drops.tcpBadChecksum).toBe(1);
    expect(peer.out).toHaveLength(0);
    // With verification off (behind an authenticated tunnel) the checksum is not looked at.
    const trusting = make({ verifyChecksums: false });
    trusting.listen(80, () => {});
    trusting.receive(tcp, peer.now);
    expect(trusting.stats.drops.tcpBadChecksum).toBe(0);
  });
});

function internetChecksumOf(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i]! << 8) | header[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
