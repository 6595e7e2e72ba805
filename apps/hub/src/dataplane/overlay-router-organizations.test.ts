// The overlay router keeps an admin WireGuard peer to its own organisation's devices, on one node
// and on the node a cluster relays the packet to.
import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '@porthole/netstack';
import { OverlayRouter, type PeerRole } from './overlay-router.js';
import { packet } from './overlay-router-packets.js';

const HUB = '100.64.0.1';
const ACME_ADMIN = '100.64.0.2';
const GLOBEX_ADMIN = '100.64.0.3';
const UNFILED_ADMIN = '100.64.0.4';
const ACME_DEVICE = '100.64.0.10';
const GLOBEX_DEVICE = '100.64.0.11';

const peers = new Map<number, { role: PeerRole; organization?: string }>([
  [parseIpv4Address(ACME_ADMIN), { role: 'admin', organization: 'acme' }],
  [parseIpv4Address(GLOBEX_ADMIN), { role: 'admin', organization: 'globex' }],
  // An admin peer whose organisation the node does not know (a change recorded before organisations were).
  [parseIpv4Address(UNFILED_ADMIN), { role: 'admin' }],
  [parseIpv4Address(ACME_DEVICE), { role: 'device', organization: 'acme' }],
  [parseIpv4Address(GLOBEX_DEVICE), { role: 'device', organization: 'globex' }],
]);

function node() {
  const out: Uint8Array[] = [];
  const router = new OverlayRouter({
    hubAddress: parseIpv4Address(HUB),
    roleOf: (a) => peers.get(a)?.role,
    organizationOf: (a) => peers.get(a)?.organization,
    deliverToHub: () => undefined,
    forward: (p) => out.push(p),
  });
  return { router, out };
}

describe('OverlayRouter: admin peers and organisations', () => {
  it("passes an admin peer's TCP and ping to its own organisation's device, and the answers back", () => {
    const { router, out } = node();
    router.fromPeer(packet('tcp', ACME_ADMIN, ACME_DEVICE, 40000, 22), 0);
    router.fromPeer(packet('icmp', ACME_ADMIN, ACME_DEVICE, 8, 7), 0);
    router.fromPeer(packet('tcp', ACME_DEVICE, ACME_ADMIN, 22, 40000), 1);
    expect(out).toHaveLength(3);
    expect(router.drops.size).toBe(0);
  });

  it("drops an admin peer's packets to another organisation's device, tracks no flow, so the device cannot answer either", () => {
    const { router, out } = node();
    router.fromPeer(packet('tcp', ACME_ADMIN, GLOBEX_DEVICE, 40000, 22), 0);
    router.fromPeer(packet('icmp', ACME_ADMIN, GLOBEX_DEVICE, 8, 7), 0);
    router.fromPeer(packet('tcp', GLOBEX_ADMIN, ACME_DEVICE, 40001, 80), 0);
    expect(router.flowCount).toBe(0);
    router.fromPeer(packet('tcp', GLOBEX_DEVICE, ACME_ADMIN, 22, 40000), 1);
    expect(out).toHaveLength(0);
    expect(Object.fromEntries(router.drops)).toEqual({ other_organization: 3, device_unsolicited: 1 });
  });

  it('drops an admin peer whose organisation is not known, to any device', () => {
    const { router, out } = node();
    router.fromPeer(packet('tcp', UNFILED_ADMIN, ACME_DEVICE, 40000, 22), 0);
    router.fromPeer(packet('tcp', UNFILED_ADMIN, GLOBEX_DEVICE, 40000, 22), 0);
    expect(out).toHaveLength(0);
    expect(router.drops.get('other_organization')).toBe(2);
  });

  it('applies the rule again on the node a packet is relayed to', () => {
    const holder = node();
    // A frame another node relayed (as a faulty or older node might): the holder drops it.
    holder.router.fromRelay(packet('tcp', ACME_ADMIN, GLOBEX_DEVICE, 40000, 22), 0, 'node-a');
    expect(holder.out).toHaveLength(0);
    expect(holder.router.drops.get('other_organization')).toBe(1);
    holder.router.fromRelay(packet('tcp', ACME_ADMIN, ACME_DEVICE, 40000, 22), 0, 'node-a');
    expect(holder.out).toHaveLength(1);
  });

  it('sends nothing to the relay for another organisation: dropped on the node the admin peer is on', () => {
    const sender = node();
    const sent: Uint8Array[] = [];
    sender.router.relay = { route: () => 'node-b', send: (_node, p) => sent.push(p), learned: () => undefined };
    sender.router.fromPeer(packet('tcp', ACME_ADMIN, GLOBEX_DEVICE, 40000, 22), 0);
    expect(sent).toHaveLength(0);
    sender.router.fromPeer(packet('tcp', ACME_ADMIN, ACME_DEVICE, 40000, 22), 0);
    expect(sent).toHaveLength(1);
  });
});
