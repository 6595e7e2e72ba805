// The agent's TCP/IP stack takes its packets from WireGuard only, so it trusts their integrity to
// WireGuard's AEAD and does not sum checksums again: a SYN whose TCP checksum is wrong is answered,
// where a stack that verifies (libs/netstack's default) drops it.
import { createNetstack } from '@porthole/netstack';
import { emitIpv4, emitTcp, emptyTcpRepr, IP_PROTOCOL_TCP, IPV4_HEADER_LEN, parseIpv4Address, TCP_ACK, TCP_SYN, tcpHeaderLen } from '@porthole/netstack/wire';
import { describe, expect, it } from 'vitest';
import { userspaceNetstack } from './default-factory.js';

const DEVICE = '100.64.0.5';
const HUB = '100.64.0.1';

/** A SYN from the hub to the device's port 80 with its TCP checksum spoiled. */
function synWithBadChecksum(): Buffer {
  const repr = { ...emptyTcpRepr(), srcPort: 40000, dstPort: 80, seq: 1000, flags: TCP_SYN, window: 65535, mss: 1380 };
  const src = parseIpv4Address(HUB);
  const dst = parseIpv4Address(DEVICE);
  const tcpLen = tcpHeaderLen(repr);
  const buf = Buffer.alloc(IPV4_HEADER_LEN + tcpLen);
  emitIpv4({ srcAddr: src, dstAddr: dst, protocol: IP_PROTOCOL_TCP, payloadLen: tcpLen, ttl: 64, ident: 1, dontFragment: true, dscpEcn: 0 }, buf);
  emitTcp(repr, buf, IPV4_HEADER_LEN, src, dst);
  buf[IPV4_HEADER_LEN + 16]! ^= 0xff; // the TCP checksum field
  return buf;
}

/** TCP flags of every packet the stack sent back after receiving `packet` on a listening port 80. */
function answerFlags(make: (onTransmit: (p: Uint8Array) => void) => { receive(p: Uint8Array): void; listen(port: number, cb: () => void): unknown; close?(): unknown }): number[] {
  const sent: Uint8Array[] = [];
  const stack = make((p) => sent.push(p));
  stack.listen(80, () => undefined);
  stack.receive(synWithBadChecksum());
  stack.close?.();
  return sent.map((p) => p[IPV4_HEADER_LEN + 13]!);
}

describe("the agent's TCP/IP stack behind WireGuard", () => {
  it('answers a SYN whose checksum is wrong (WireGuard authenticated it); a verifying stack drops it', () => {
    expect(answerFlags((onTransmit) => userspaceNetstack({ address: DEVICE, mtuBytes: 1420, onTransmit }))).toContain(TCP_SYN | TCP_ACK);
    expect(answerFlags((onTransmit) => createNetstack({ address: DEVICE, mtuBytes: 1420, onTransmit }))).toEqual([]);
  });
});
