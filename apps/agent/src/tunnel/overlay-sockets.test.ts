// The agent's overlay sockets through the real tunnel (WireGuard on loopback UDP, libs/netstack on
// both ends): a response the device writes in two parts reaches the hub as two segments while the
// hub acknowledges nothing. With Nagle, the second part would wait for the hub's ACK of the first
// (and the hub delays its ACKs), which is what made every small request through the agent slow.
import { afterEach, describe, expect, it } from 'vitest';
import { createNetstack, type Netstack } from '@porthole/netstack';
import { UdpBind, startWireGuardNode, tai64nFromUnixMs, type WireGuardNode, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { silentLogger } from '../log/logger.js';
import { testRegistration } from '../testing/fixtures.js';
import { until } from '../testing/servers.js';
import { userspaceNetstack } from './default-factory.js';
import type { TunnelEvent } from './tunnel.js';
import { createWireGuardTunnelFactory } from './wireguard-tunnel.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Segment {
  srcPort: number;
  seq: number;
  flags: number;
  payload: Buffer;
}

/** The TCP segment inside an IPv4 packet (RFC 791, RFC 9293 §3.1), or undefined for anything else. */
function tcpSegment(packet: Uint8Array): Segment | undefined {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.length < 40 || b[9] !== 6) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  const dataOffset = (b[ihl + 12]! >> 4) * 4;
  return {
    srcPort: b.readUInt16BE(ihl),
    seq: b.readUInt32BE(ihl + 4),
    flags: b[ihl + 13]!,
    payload: b.subarray(ihl + dataOffset, b.readUInt16BE(2)),
  };
}

const ACK = 0x10;
const HEAD = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n';
const BODY = 'hello';

describe('overlay sockets accepted by the tunnel', () => {
  it('send a two-part response without waiting for the ACK of the first part (noDelay)', async () => {
    const hubKey = generatePrivateKey();
    const agentKey = generatePrivateKey();
    const fromAgent: Segment[] = [];
    let holdAcks = false;
    let heldAcks = 0;
    let hubStack: Netstack | undefined;

    // The hub end: WireGuard + netstack, with a fake link that can swallow its pure ACKs.
    const hubBind = await UdpBind.open({ host: '127.0.0.1' });
    const hub: WireGuardNode = await startWireGuardNode({
      privateKey: hubKey,
      bind: hubBind,
      onPacket: (p) => {
        const seg = tcpSegment(p);
        if (seg && seg.srcPort === 80 && seg.payload.length > 0) fromAgent.push({ ...seg, payload: Buffer.from(seg.payload) });
        hubStack?.receive(p);
      },
    });
    cleanups.push(() => hub.close());
    hubStack = createNetstack({
      address: '100.64.0.1',
      mtuBytes: 1420,
      onTransmit: (p) => {
        const seg = tcpSegment(p);
        if (holdAcks && seg && seg.flags === ACK && seg.payload.length === 0) {
          heldAcks++;
          return;
        }
        void hub.send(p);
      },
    });
    const stack = hubStack;
    cleanups.push(() => stack.close());
    hub.device.addPeer({ publicKey: encodeKey(publicKeyFromPrivate(agentKey)), allowedIps: ['100.64.0.5/32'] });

    // The agent end: the real tunnel with the stack the agent ships.
    const registration = testRegistration({ hub: { publicKey: encodeKey(publicKeyFromPrivate(hubKey)), endpoint: `127.0.0.1:${hubBind.localPort}` } });
    const factory = createWireGuardTunnelFactory({ openBind: () => UdpBind.open({ host: '127.0.0.1' }), createNetstack: userspaceNetstack, probeIntervalMs: 0 });
    const tunnel = await factory({
      privateKey: agentKey,
      registration,
      endpoint: { address: '127.0.0.1', port: hubBind.localPort! },
      tai64n: () => tai64nFromUnixMs(Date.now()),
      now: Date.now,
      logger: silentLogger,
    });
    cleanups.push(() => tunnel.close());
    const events: TunnelEvent[] = [];
    tunnel.onEvent((e) => events.push(e));
    // A device answering in two writes, as node:http does for a head and a Buffer body.
    tunnel.listen(80, (socket) => {
      socket.once('data', () => {
        socket.write(HEAD);
        socket.write(BODY);
      });
    });
    await until(() => events.some((e) => e.type === 'handshake'), 10_000, 'handshake');

    const client = stack.connect({ host: '100.64.0.5', port: 80, noDelay: true });
    cleanups.push(() => client.destroy());
    await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    let received = '';
    client.on('data', (c: Buffer) => (received += c.toString()));
    holdAcks = true;
    client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');

    await until(() => received === HEAD + BODY, 10_000, 'the whole response at the hub');
    // Two segments, head then body, each sent once: nothing waited for an ACK or a retransmission.
    expect(fromAgent.map((s) => s.payload.toString())).toEqual([HEAD, BODY]);
    expect(fromAgent[1]!.seq).toBe((fromAgent[0]!.seq + HEAD.length) >>> 0);
    // The gate was in the path: the hub's (delayed) ACK of the response is swallowed too.
    await until(() => heldAcks > 0, 10_000, 'the hub acknowledging the response');
  });
});
