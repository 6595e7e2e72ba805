// The real WireGuard wiring against a hub-side WireGuard node on loopback UDP (the netstack is a
// recording stub here; TCP over the overlay is tested where libs/netstack is wired in): the
// handshake comes up by itself, IP packets flow both ways, and after a "reboot into 1970" the
// monotonic handshake clock still gets the session accepted while a naive clock is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { formatIpv4Address, parseIpv4Address } from '@porthole/netstack';
import { emitIpv4, IPV4_HEADER_LEN, Ipv4Packet, parseIcmpv4, parseIpv4 } from '@porthole/netstack/wire';
import { UdpBind, startWireGuardNode, tai64nFromUnixMs, type WireGuardNode, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { HandshakeClock } from '../clock/handshake-clock.js';
import { silentLogger } from '../log/logger.js';
import { testRegistration } from '../testing/fixtures.js';
import { until } from '../testing/servers.js';
import type { Tunnel, TunnelEvent } from './tunnel.js';
import { createWireGuardTunnelFactory, icmpAdminProhibited, icmpEchoRequest, type NetstackLike } from './wireguard-tunnel.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function ipv4(src: string, dst: string, payload: string): Uint8Array {
  const body = Buffer.from(payload);
  const p = Buffer.alloc(IPV4_HEADER_LEN + body.length);
  // Protocol 253 is "for experimentation" (RFC 3692).
  emitIpv4({ srcAddr: parseIpv4Address(src), dstAddr: parseIpv4Address(dst), protocol: 253, payloadLen: body.length, ttl: 64, ident: 0, dontFragment: false, dscpEcn: 0 }, p);
  body.copy(p, IPV4_HEADER_LEN);
  return p;
}

async function setup(probeIntervalMs?: number) {
  const hubKey = generatePrivateKey();
  const agentKey = generatePrivateKey();
  const received: Uint8Array[] = [];
  const startHub = async (port = 0) => {
    const bind = await UdpBind.open({ host: '127.0.0.1', port });
    const node: WireGuardNode = await startWireGuardNode({ privateKey: hubKey, bind, onPacket: (p) => received.push(p) });
    cleanups.push(() => node.close());
    node.device.addPeer({ publicKey: encodeKey(publicKeyFromPrivate(agentKey)), allowedIps: ['100.64.0.5/32'] });
    return { node, bind };
  };
  const { node: hub, bind: hubBind } = await startHub();
  const registration = testRegistration({ hub: { publicKey: encodeKey(publicKeyFromPrivate(hubKey)), endpoint: `127.0.0.1:${hubBind.localPort}` } });
  const stacks: Array<{ packets: Uint8Array[]; transmit: (p: Uint8Array) => void; ports: number[] }> = [];
  const factory = createWireGuardTunnelFactory({
    probeIntervalMs,
    openBind: () => UdpBind.open({ host: '127.0.0.1' }),
    createNetstack: ({ address, mtuBytes, onTransmit }) => {
      expect(address).toBe('100.64.0.5');
      expect(mtuBytes).toBe(1420);
      const s = { packets: [] as Uint8Array[], transmit: onTransmit, ports: [] as number[] };
      stacks.push(s);
      const stub: NetstackLike = {
        receive: (p) => s.packets.push(p),
        listen: (port) => s.ports.push(port),
        connect: () => {
          throw new Error('not dialled in this test');
        },
      };
      return stub;
    },
  });
  const open = async (tai64n: () => Uint8Array) => {
    const events: TunnelEvent[] = [];
    const tunnel: Tunnel = await factory({
      privateKey: agentKey,
      registration,
      endpoint: { address: '127.0.0.1', port: hubBind.localPort! },
      tai64n,
      now: Date.now,
      logger: silentLogger,
    });
    cleanups.push(() => tunnel.close());
    tunnel.onEvent((e) => events.push(e));
    return { tunnel, events };
  };
  return { hub, received, registration, stacks, open, agentKey, restartHub: () => startHub(hubBind.localPort) };
}

/** Parses a whole IPv4 + ICMP packet, verifying both checksums (throws on a wrong one). */
function parseIcmpPacket(packet: Uint8Array) {
  const ip = parseIpv4(Ipv4Packet.checked(packet), true);
  return { src: formatIpv4Address(ip.srcAddr), dst: formatIpv4Address(ip.dstAddr), icmp: parseIcmpv4(new Ipv4Packet(packet).payload, true) };
}

describe('the ICMP the agent sends to the hub', () => {
  it('a liveness probe is an echo request with its identifier and sequence', () => {
    const { src, dst, icmp } = parseIcmpPacket(icmpEchoRequest('100.64.0.5', '100.64.0.1', 0x1234, 0x1_0007));
    expect({ src, dst }).toEqual({ src: '100.64.0.5', dst: '100.64.0.1' });
    expect(icmp).toMatchObject({ type: 8, identifier: 0x1234, sequence: 7, data: { length: 0 } });
  });

  it('the goodbye is destination unreachable, code 13, quoting a hub-to-device TCP header', () => {
    const { src, dst, icmp } = parseIcmpPacket(icmpAdminProhibited('100.64.0.5', '100.64.0.1'));
    expect({ src, dst }).toEqual({ src: '100.64.0.5', dst: '100.64.0.1' });
    expect(icmp).toMatchObject({ type: 3, code: 13, header: { srcAddr: parseIpv4Address('100.64.0.1'), dstAddr: parseIpv4Address('100.64.0.5'), protocol: 6 } });
  });
});

describe('WireGuard tunnel to a hub node', () => {
  it('handshakes by itself and carries packets both ways', async () => {
    const { hub, received, stacks, open, registration } = await setup();
    const { tunnel, events } = await open(() => tai64nFromUnixMs(Date.now()));
    tunnel.listen(80, () => {});
    await until(() => events.some((e) => e.type === 'handshake'), 10_000, 'handshake');
    expect(stacks[0]!.ports).toEqual([80]);
    const info = tunnel.info();
    expect(info.endpoint).toBe(registration.hub.endpoint);
    expect(info.lastHandshakeAtMs).toBeGreaterThan(0);

    hub.send(ipv4('100.64.0.1', '100.64.0.5', 'to the device'));
    await until(() => stacks[0]!.packets.length > 0, 5000, 'packet at the device');
    expect(Buffer.from(stacks[0]!.packets[0]!.subarray(20)).toString()).toBe('to the device');

    stacks[0]!.transmit(ipv4('100.64.0.5', '100.64.0.1', 'to the hub'));
    await until(() => received.length > 0, 5000, 'packet at the hub');
    expect(Buffer.from(received[0]!.subarray(20)).toString()).toBe('to the hub');
    expect(tunnel.info().txBytes).toBeGreaterThan(0);

    // Disable's close tells the hub: one ICMP "administratively prohibited" from the device.
    received.length = 0;
    await tunnel.close({ notifyHub: true });
    await until(() => received.length > 0, 5000, 'the goodbye at the hub');
    const goodbye = received[0]!;
    expect([goodbye[9], goodbye[20], goodbye[21]]).toEqual([1, 3, 13]);
    expect([...goodbye.subarray(12, 20)]).toEqual([100, 64, 0, 5, 100, 64, 0, 1]);
  });

  it('after a reboot with the clock in 1970, the persisted monotonic timestamp is still accepted', async () => {
    const { hub, open } = await setup();
    const saved = { value: null as string | null };
    const store = { lastTai64n: () => saved.value, saveTai64n: (h: string) => (saved.value = h) };
    const before = new HandshakeClock({ store });
    const first = await open(() => before.tai64n());
    await until(() => first.events.some((e) => e.type === 'handshake'), 10_000, 'first handshake');
    await first.tunnel.close();

    // A naive source after the reboot: the hub refuses it as a replay.
    const naive = await open(() => tai64nFromUnixMs(5_000));
    await until(() => (hub.device.drops['replayed-timestamp'] ?? 0) > 0, 10_000, 'replay drop');
    expect(naive.events.some((e) => e.type === 'handshake')).toBe(false);
    await naive.tunnel.close();
    // A responder ignores initiations < 20 ms after the last one it accepted (wireguard-go
    // HandshakeInitationRate); a real reboot takes far longer than this test's few milliseconds.
    await new Promise((r) => setTimeout(r, 25));

    // The agent's clock after the same reboot continues from the saved timestamp.
    const rebooted = new HandshakeClock({ store, now: () => 5_000 });
    const second = await open(() => rebooted.tai64n());
    await until(() => second.events.some((e) => e.type === 'handshake'), 10_000, 'handshake after reboot');
    expect(hub.device.drops['initiation-flood'] ?? 0).toBe(0);
    expect(rebooted.problems().map((p) => p.code)).toContain('before-build-date');
  });
});

describe('liveness probe', () => {
  it('a restarted hub (sessions forgotten) gets a new handshake without the 120 s rekey', async () => {
    const { hub, open, received, restartHub } = await setup(1000);
    const { events } = await open(() => tai64nFromUnixMs(Date.now()));
    await until(() => events.some((e) => e.type === 'handshake'), 10_000, 'handshake');
    await until(() => received.some((p) => p[9] === 1), 5_000, 'an ICMP probe at the hub');
    const probe = received.find((p) => p[9] === 1)!;
    expect(probe[20]).toBe(8); // echo request to the hub's tunnel IP
    expect([...probe.subarray(16, 20)]).toEqual([100, 64, 0, 1]);

    await hub.close();
    const restartedAt = Date.now();
    const before = events.filter((e) => e.type === 'handshake').length;
    await restartHub();
    await until(() => events.filter((e) => e.type === 'handshake').length > before, 30_000, 'handshake with the restarted hub');
    const seconds = (Date.now() - restartedAt) / 1000;
    console.log(`hub restart → new session in ${seconds.toFixed(1)} s (probe every 1 s; WireGuard's 15 s no-reply rule)`);
  }, 40_000);
});
