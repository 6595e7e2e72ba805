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
import { AGENT_ACK_DELAY_MS, userspaceNetstack } from './default-factory.js';
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

/** The hub end (WireGuard + netstack, with a link that can swallow its pure ACKs) and the agent's real tunnel. */
async function hubAndAgent(onDeviceConnection: (socket: import('node:stream').Duplex) => void) {
  const hubKey = generatePrivateKey();
  const agentKey = generatePrivateKey();
  /** Segments from the device's port 80 as the hub receives them, pure ACKs included. */
  const fromAgent: Segment[] = [];
  const gate = { holdAcks: false, heldAcks: 0 };
  let hubStack: Netstack | undefined;

  const hubBind = await UdpBind.open({ host: '127.0.0.1' });
  const hub: WireGuardNode = await startWireGuardNode({
    privateKey: hubKey,
    bind: hubBind,
    onPacket: (p) => {
      const seg = tcpSegment(p);
      if (seg && seg.srcPort === 80) fromAgent.push({ ...seg, payload: Buffer.from(seg.payload) });
      hubStack?.receive(p);
    },
  });
  cleanups.push(() => hub.close());
  hubStack = createNetstack({
    address: '100.64.0.1',
    mtuBytes: 1420,
    onTransmit: (p) => {
      const seg = tcpSegment(p);
      if (gate.holdAcks && seg && seg.flags === ACK && seg.payload.length === 0) {
        gate.heldAcks++;
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
  tunnel.listen(80, onDeviceConnection);
  await until(() => events.some((e) => e.type === 'handshake'), 10_000, 'handshake');

  const client = stack.connect({ host: '100.64.0.5', port: 80, noDelay: true });
  cleanups.push(() => client.destroy());
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  fromAgent.length = 0;
  return { client, fromAgent, gate };
}

describe('overlay sockets accepted by the tunnel', () => {
  it('send a two-part response without waiting for the ACK of the first part (noDelay)', async () => {
    // A device answering in two writes, as node:http does for a head and a Buffer body.
    const { client, fromAgent, gate } = await hubAndAgent((socket) => {
      socket.once('data', () => {
        socket.write(HEAD);
        socket.write(BODY);
      });
    });
    let received = '';
    client.on('data', (c: Buffer) => (received += c.toString()));
    gate.holdAcks = true;
    client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');

    await until(() => received === HEAD + BODY, 10_000, 'the whole response at the hub');
    // Two segments, head then body, each sent once: nothing waited for an ACK or a retransmission.
    const data = fromAgent.filter((s) => s.payload.length > 0);
    expect(data.map((s) => s.payload.toString())).toEqual([HEAD, BODY]);
    expect(data[1]!.seq).toBe((data[0]!.seq + HEAD.length) >>> 0);
    // The gate was in the path: the hub's (delayed) ACK of the response is swallowed too.
    await until(() => gate.heldAcks > 0, 10_000, 'the hub acknowledging the response');
  });

  it('a request answered after 15 ms costs no pure ACK from the agent: its ACK rides on the reply', async () => {
    let answeredAfterMs = 0;
    const { client, fromAgent } = await hubAndAgent((socket) => {
      socket.on('data', () => {
        const at = performance.now();
        setTimeout(() => {
          answeredAfterMs = performance.now() - at;
          socket.write(HEAD + BODY);
        }, 15);
      });
    });
    let received = '';
    client.on('data', (c: Buffer) => (received += c.toString()));
    // The first exchange opens the receive window (one window update): the second is the steady state.
    for (const round of [1, 2]) {
      fromAgent.length = 0;
      client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      await until(() => received === (HEAD + BODY).repeat(round), 10_000, 'the whole response at the hub');
    }
    // A timer that fired later than the agent's ACK delay (a stalled machine) proves nothing either way.
    if (answeredAfterMs >= AGENT_ACK_DELAY_MS) return void console.log(`reply written after ${answeredAfterMs.toFixed(0)} ms: not conclusive`);
    expect(fromAgent.map((s) => s.payload.length)).toEqual([HEAD.length + BODY.length]);
  });
});
