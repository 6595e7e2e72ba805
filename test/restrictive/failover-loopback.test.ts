// Restrictive networks on loopback, without namespaces: the agent's real tunnel (WireGuard + netstack over the
// failover bind) against a hub-side WireGuard node on a UDP socket plus the hub's WebSocket carrier.
// UDP passes through a relay the test can block. Blocked at start → the tunnel comes up over the
// WebSocket and the hub answers there; unblocked → a UDP probe is answered, the agent moves back and
// the hub follows to UDP; data flows hub → device (ICMP echo answered by the device's netstack) on
// both carriers.
import { createSocket, type RemoteInfo } from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UdpBind, encodeKey, generatePrivateKey, publicKeyFromPrivate, startWireGuardNode, tai64nNow, type WireGuardNode } from '@porthole/wireguard';
import { afterEach, describe, expect, it } from 'vitest';
import { createDefaultTunnelFactory, type Tunnel } from '@porthole/agent';
import { CompositeBind, createWsDatagramTransport } from '@porthole/hub';
import { memoryLogger } from '@porthole/log';
import { parseIpv4Address } from '@porthole/netstack';
import { buildIcmpv4Packet, ICMP_ECHO_REQUEST } from '@porthole/netstack/wire';
import { until } from '../support/until.js';

/** A UDP relay (the site's firewall): forwards both ways unless blocked. */
async function udpRelay(target: number) {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  let client: RemoteInfo | undefined;
  const state = { blocked: true, dropped: 0, passed: 0 };
  socket.on('message', (msg, rinfo) => {
    if (state.blocked) return void state.dropped++;
    state.passed++;
    if (rinfo.port === target) {
      if (client) socket.send(msg, client.port, client.address);
    } else {
      client = rinfo;
      socket.send(msg, target, '127.0.0.1');
    }
  });
  return { port: socket.address().port, state, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

interface Setup {
  tunnel: Tunnel;
  relay: Awaited<ReturnType<typeof udpRelay>>;
  ws: ReturnType<typeof createWsDatagramTransport>;
  hubEndpoint: () => { address: string; port: number; transport?: string } | undefined;
  ping: (seq: number) => Promise<void>;
  handshakes: () => number;
}

describe('failover between UDP and the WebSocket carrier (loopback)', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** Hub node + carrier + relay (blocked) + the agent's tunnel; `carrierUp: false` points the agent at a closed port. */
  async function setup(carrierUp = true): Promise<Setup> {
    const hubKey = generatePrivateKey();
    const deviceKey = generatePrivateKey();
    const devicePub = encodeKey(publicKeyFromPrivate(deviceKey));
    const udp = await UdpBind.open({ host: '127.0.0.1' });
    const ws = createWsDatagramTransport();
    const replies: string[] = [];
    const hub: WireGuardNode = await startWireGuardNode({
      privateKey: hubKey,
      bind: new CompositeBind(udp, new Map([['ws', ws]])),
      onPacket: (packet) => {
        if (packet[9] === 1 && packet[20] === 0) replies.push(`${packet[26]! * 256 + packet[27]!}`);
      },
    });
    cleanups.push(() => hub.close());
    hub.device.addPeer({ publicKey: devicePub, allowedIps: ['100.64.0.2/32'] });
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head, '127.0.0.1'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const httpPort = (server.address() as AddressInfo).port;
    if (carrierUp) cleanups.push(() => new Promise((r) => server.close(r)));
    else await new Promise((r) => server.close(r)); // refused: the hub is "down" for TCP
    const relay = await udpRelay(udp.localPort!);
    cleanups.push(() => relay.close());

    const factory = createDefaultTunnelFactory({ fallbackAfterMs: 1_000, udpProbeIntervalMs: carrierUp ? 500 : 60_000, probeIntervalMs: 300 });
    const tunnel: Tunnel = await factory({
      privateKey: deviceKey,
      registration: {
        serial: 'an1',
        tunnelIp: '100.64.0.2',
        overlayCidr: '100.64.0.0/10',
        hub: { publicKey: encodeKey(publicKeyFromPrivate(hubKey)), endpoint: `127.0.0.1:${relay.port}`, tunnelIp: '100.64.0.1' },
        url: 'http://an1.test/',
        persistentKeepalive: 25,
      },
      endpoint: { address: '127.0.0.1', port: relay.port },
      tai64n: tai64nNow,
      now: () => Date.now(),
      logger: memoryLogger(),
      hubUrl: new URL(`http://127.0.0.1:${httpPort}/`),
      network: { proxy: null, transport: 'auto' },
    });
    cleanups.push(() => tunnel.close());
    let handshakes = 0;
    tunnel.onEvent((e) => e.type === 'handshake' && handshakes++);
    return {
      tunnel,
      relay,
      ws,
      handshakes: () => handshakes,
      hubEndpoint: () => hub.device.getPeer(devicePub)?.endpoint,
      ping: async (seq) => {
        hub.send(buildIcmpv4Packet({ srcAddr: parseIpv4Address('100.64.0.1'), dstAddr: parseIpv4Address('100.64.0.2') }, { type: ICMP_ECHO_REQUEST, identifier: 7, sequence: seq, data: new Uint8Array(0) }));
        await until(() => replies.includes(String(seq)), `echo reply ${seq}`, 5_000);
      },
    };
  }

  it('comes up over the WebSocket while UDP is blocked and moves back to UDP when it is not', async () => {
    const { tunnel, relay, ws, hubEndpoint, ping, handshakes } = await setup();
    await until(() => handshakes() > 0, 'handshake over the WebSocket', 20_000);
    expect(tunnel.info().transport).toMatchObject({ carrier: 'websocket', reason: 'no WireGuard handshake over UDP within 1 s' });
    expect(tunnel.info().transport!.description).toMatch(/^WireGuard over WebSocket \(ws:\/\/127\.0\.0\.1:\d+\/\.porthole\/wg\)$/);
    expect(hubEndpoint()?.transport).toBe('ws');
    expect(relay.state.dropped).toBeGreaterThan(0);
    expect(relay.state.passed).toBe(0);
    await ping(1);
    expect(ws.stats.rxDatagrams).toBeGreaterThan(1);

    relay.state.blocked = false;
    await until(() => tunnel.info().transport?.carrier === 'udp', 'back on UDP', 20_000);
    expect(tunnel.info().transport!.reason).toBe('a UDP probe was answered: back on UDP');
    // The device's next packet over UDP moves the hub (ICMP liveness probe every 300 ms).
    await until(() => hubEndpoint()?.transport === undefined, 'hub follows to UDP', 20_000);
    expect(hubEndpoint()).toMatchObject({ address: '127.0.0.1', port: relay.port });
    const wsTx = ws.stats.txDatagrams;
    await ping(2);
    expect(ws.stats.txDatagrams).toBe(wsTx);
    expect(handshakes()).toBe(1); // the session carried over: the probe never replaced it
    // The carrier closes a few seconds after the switch.
    await until(() => ws.stats.open === 0, 'carrier closed', 10_000);
  }, 40_000);

  it('with the hub unreachable on both carriers, the first handshake answered over UDP brings the tunnel back to UDP', async () => {
    // Like a hub restart: UDP unanswered, so the agent tries the WebSocket, which is refused too.
    const { tunnel, relay, hubEndpoint, ping, handshakes } = await setup(false);
    // The carrier switches first; its refused connection is reported when the attempt fails.
    const fallback = await until(() => {
      const t = tunnel.info().transport;
      return t?.carrier === 'websocket' && t.problems.length > 0 ? t : undefined;
    }, 'fallback, refused', 20_000);
    expect(fallback.problems.join()).toMatch(/^WebSocket: .*ECONNREFUSED/);
    relay.state.blocked = false; // the hub is back (UDP); no probe is due for a minute
    await until(() => handshakes() > 0, 'handshake', 10_000);
    expect(tunnel.info().transport).toMatchObject({ carrier: 'udp', reason: 'a handshake over UDP was answered: back on UDP' });
    expect(hubEndpoint()).toMatchObject({ address: '127.0.0.1', port: relay.port });
    expect(hubEndpoint()?.transport).toBeUndefined();
    await ping(1);
  }, 30_000);
});
