import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '@porthole/netstack';
import { OverlayRouter, type PeerRole } from './overlay-router.js';
import { seededRandom } from '@porthole/wireguard/testing';
import { packet } from './overlay-router-packets.js';

const HUB = '100.64.0.1';
const ADMIN = '100.64.0.2';
const ADMIN2 = '100.64.0.3';
const DEV_A = '100.64.0.10';
const DEV_B = '100.64.0.11';

function setup(opts: { tcpFlowIdleMs?: number; maxFlows?: number } = {}) {
  const roles = new Map<number, PeerRole>([
    [parseIpv4Address(ADMIN), 'admin'],
    [parseIpv4Address(ADMIN2), 'admin'],
    [parseIpv4Address(DEV_A), 'device'],
    [parseIpv4Address(DEV_B), 'device'],
  ]);
  const hub: Uint8Array[] = [];
  const out: Uint8Array[] = [];
  const router = new OverlayRouter({
    hubAddress: parseIpv4Address(HUB),
    roleOf: (a) => roles.get(a),
    deliverToHub: (p) => hub.push(p),
    forward: (p) => out.push(p),
    ...opts,
  });
  return { router, hub, out };
}

describe('OverlayRouter', () => {
  it('delivers anything addressed to the hub to the hub netstack', () => {
    const { router, hub, out } = setup();
    router.fromPeer(packet('tcp', DEV_A, HUB, 40000, 80), 0);
    router.fromPeer(packet('udp', ADMIN, HUB, 5353, 53), 0);
    expect(hub).toHaveLength(2);
    expect(out).toHaveLength(0);
  });

  it("drops admin peers' TCP to a device's control port, counted, and tracks no flow for it", () => {
    const { router, out } = setup();
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 40001, 61820), 0);
    expect(out).toHaveLength(0);
    expect(router.drops.get('control_port')).toBe(1);
    expect(router.flowCount).toBe(0);
    // The same admin still reaches other ports of the device.
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 40002, 22), 0);
    expect(out).toHaveLength(1);
  });

  it('never lets a device reach another device, in any protocol', () => {
    const { router, out } = setup();
    for (const proto of ['tcp', 'udp', 'icmp'] as const) router.fromPeer(packet(proto, DEV_A, DEV_B, 8, 80), 0);
    expect(out).toHaveLength(0);
    expect(router.drops.get('device_to_device')).toBe(3);
  });

  it('lets an admin open TCP and ping a device, and the device answer only those flows', () => {
    const { router, out } = setup();
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 51000, 22), 0);
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 51000), 10);
    router.fromPeer(packet('icmp', ADMIN, DEV_A, 8, 77), 20);
    router.fromPeer(packet('icmp', DEV_A, ADMIN, 0, 77), 30);
    expect(out).toHaveLength(4);
    // The device may not open its own connection to the admin, nor answer another port or echo id.
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 51001), 40);
    router.fromPeer(packet('tcp', DEV_A, ADMIN2, 22, 51000), 40);
    router.fromPeer(packet('icmp', DEV_A, ADMIN, 0, 78), 40);
    router.fromPeer(packet('icmp', DEV_A, ADMIN, 8, 77), 40);
    expect(out).toHaveLength(4);
    expect(router.drops.get('device_unsolicited')).toBe(4);
  });

  it('refuses UDP between admin and device, admin-to-admin and unknown addresses', () => {
    const { router, out } = setup();
    router.fromPeer(packet('udp', ADMIN, DEV_A, 5000, 502), 0);
    router.fromPeer(packet('tcp', ADMIN, ADMIN2, 5000, 22), 0);
    router.fromPeer(packet('tcp', ADMIN, '100.64.9.9', 5000, 22), 0);
    router.fromPeer(packet('tcp', HUB, DEV_A, 80, 5000), 0);
    expect(out).toHaveLength(0);
    expect(Object.fromEntries(router.drops)).toEqual({
      protocol_not_allowed: 1,
      admin_to_admin: 1,
      no_route: 1,
      spoofed_hub_source: 1,
    });
  });

  it('forgets idle flows, so a device cannot answer long after the admin went quiet', () => {
    const { router, out } = setup({ tcpFlowIdleMs: 1000 });
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 51000, 22), 0);
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 51000), 900); // refreshes to 1900
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 51000), 1800);
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 51000), 2801);
    expect(out).toHaveLength(3);
  });

  it('sweep() removes the flows idle past their timeout and keeps the others', () => {
    const { router } = setup({ tcpFlowIdleMs: 1000 });
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 51000, 22), 0); // idle after 1000
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 51001, 22), 500); // idle after 1500
    expect(router.flowCount).toBe(2);
    // Nothing but sweep() touches the table here: the count can only fall if it removes flows.
    router.sweep(1000);
    expect(router.flowCount).toBe(2);
    router.sweep(1200);
    expect(router.flowCount).toBe(1);
    router.sweep(1600);
    expect(router.flowCount).toBe(0);
  });

  it('bounds the flow table by evicting the least recently used flow', () => {
    const { router, out } = setup({ maxFlows: 2 });
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 1, 22), 0);
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 2, 22), 0);
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 1), 1); // flow 1 becomes most recent
    router.fromPeer(packet('tcp', ADMIN, DEV_A, 3, 22), 2); // evicts flow 2
    expect(router.flowCount).toBe(2);
    out.length = 0;
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 2), 3);
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 1), 3);
    router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 3), 3);
    expect(out).toHaveLength(2);
  });

  it('drops truncated and non-IPv4 packets without throwing', () => {
    const { router, out, hub } = setup();
    const random = seededRandom(42);
    const rand = () => Math.floor(random() * 256);
    for (let i = 0; i < 2000; i++) {
      const p = new Uint8Array(rand() % 60);
      for (let j = 0; j < p.length; j++) p[j] = rand();
      router.fromPeer(p, i);
    }
    router.fromPeer(new Uint8Array([0x60, 0, 0, 0]), 0);
    // Random bytes may form a valid header addressed to the hub; nothing else may pass.
    expect(out.length).toBe(0);
    expect(hub.length + (router.drops.get('malformed') ?? 0) + (router.drops.get('no_route') ?? 0) +
      (router.drops.get('spoofed_hub_source') ?? 0)).toBe(2001);
  });

  describe('in a cluster (the packet relay between nodes)', () => {
    /** Two routers standing for node A (the admin peer's session) and node B (DEV_A's session). */
    function twoNodes() {
      const a = setup();
      const b = setup();
      const sent: Array<{ from: string; to: string; packet: Uint8Array }> = [];
      const origin = new Map<number, string>();
      const relayFor = (self: string, remoteDevices: Set<string>) => ({
        route: (dst: number, role: PeerRole) =>
          role === 'device' ? (remoteDevices.has(String(dst)) ? (self === 'a' ? 'b' : 'a') : undefined) : origin.get(dst) && self === 'b' ? origin.get(dst) : undefined,
        send: (node: string, p: Uint8Array) => sent.push({ from: self, to: node, packet: p }),
        learned: (admin: number, node: string) => void origin.set(admin, node),
      });
      a.router.relay = relayFor('a', new Set([String(parseIpv4Address(DEV_A))]));
      b.router.relay = relayFor('b', new Set());
      return { a, b, sent, origin };
    }

    it("relays an admin peer's packet to the device's node, which delivers it, and the answer comes back the same way", () => {
      const { a, b, sent, origin } = twoNodes();
      a.router.fromPeer(packet('tcp', ADMIN, DEV_A, 40000, 22), 0);
      expect(a.out).toHaveLength(0);
      expect(sent).toEqual([{ from: 'a', to: 'b', packet: expect.any(Uint8Array) }]);
      b.router.fromRelay(sent[0]!.packet, 0, 'a');
      expect(b.out).toHaveLength(1);
      expect(origin.get(parseIpv4Address(ADMIN))).toBe('a');
      // The device answers on B: relayed back to A, which passes it (its own flow) to the admin peer.
      b.router.fromPeer(packet('tcp', DEV_A, ADMIN, 22, 40000), 1);
      expect(sent[1]).toMatchObject({ from: 'b', to: 'a' });
      a.router.fromRelay(sent[1]!.packet, 1, 'b');
      expect(a.out).toHaveLength(1);
      expect([a.router.relayedOut, b.router.relayedIn, b.router.relayedOut, a.router.relayedIn]).toEqual([1, 1, 1, 1]);
    });

    it('applies the overlay rules to relayed packets too: no device to device, no unsolicited answer, never to the hub, never on to a third node', () => {
      const { a, b, sent } = twoNodes();
      b.router.fromRelay(packet('tcp', DEV_B, DEV_A, 40000, 80), 0, 'a');
      b.router.fromRelay(packet('tcp', DEV_B, ADMIN, 80, 40000), 0, 'a');
      b.router.fromRelay(packet('tcp', ADMIN, HUB, 40000, 80), 0, 'a');
      b.router.fromRelay(packet('tcp', HUB, DEV_A, 40000, 80), 0, 'a');
      b.router.fromRelay(packet('udp', ADMIN, DEV_A, 40000, 53), 0, 'a');
      b.router.fromRelay(new Uint8Array([1, 2, 3]), 0, 'a');
      // A device held by B, relayed to A: A does not send it through its own (older) session.
      a.router.fromRelay(packet('tcp', ADMIN, DEV_A, 40000, 80), 0, 'b');
      expect(b.out).toHaveLength(0);
      expect(a.out).toHaveLength(0);
      expect(sent).toHaveLength(0);
      expect(Object.fromEntries(b.router.drops)).toEqual({
        device_to_device: 1,
        device_unsolicited: 1,
        relay_to_hub: 1,
        spoofed_hub_source: 1,
        protocol_not_allowed: 1,
        malformed: 1,
      });
      expect(a.router.drops.get('relay_not_here')).toBe(1);
      // A device on A cannot reach a device on B through the relay either: dropped before it.
      a.router.fromPeer(packet('tcp', DEV_B, DEV_A, 40000, 80), 0);
      expect(sent).toHaveLength(0);
      expect(a.router.drops.get('device_to_device')).toBe(1);
    });
  });
});
