import type { PeerChange } from '@porthole/db';
import { WireGuardDevice, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIpv4Address } from '@porthole/netstack';
import type { Peer, PeerChanges, PeerSet, PeerStatus } from '../registry/index.js';
import { FIRST_CONTACT_DELAY_MS, PeerSync, TRAFFIC_WRITE_BYTES, type PeerSource, type PeerTarget } from './peer-sync.js';

const newKey = () => encodeKey(publicKeyFromPrivate(generatePrivateKey()));

/** An in-memory registry feed: a versioned change log, like the database's peer_changes. */
class FakeSource implements PeerSource {
  log: PeerChange[] = [];
  version = 0;
  failing = false;
  written: PeerStatus[][] = [];
  private listeners = new Set<(c: PeerChange[]) => void>();

  commit(changes: Omit<PeerChange, 'version'>[], notify = true): void {
    this.version++;
    const stamped = changes.map((c) => ({ ...c, version: this.version }));
    this.log.push(...stamped);
    if (notify) for (const l of this.listeners) l(stamped);
  }
  async listPeers(): Promise<PeerSet> {
    if (this.failing) throw new Error('database unreachable');
    const live = new Map<string, Peer>();
    for (const c of this.log) {
      if (c.op === 'remove') live.delete(c.publicKey);
      else live.set(c.publicKey, { kind: c.kind, publicKey: c.publicKey, tunnelIp: c.tunnelIp, name: c.name, organizationId: c.organizationId ?? null });
    }
    return { version: this.version, peers: [...live.values()] };
  }
  async changesSince(version: number): Promise<PeerChanges> {
    if (this.failing) throw new Error('database unreachable');
    const changes = this.log.filter((c) => c.version > version);
    return { version: this.version, changes, more: false };
  }
  onChange(listener: (c: PeerChange[]) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async recordPeerStatus(statuses: readonly PeerStatus[]): Promise<void> {
    if (this.failing) throw new Error('database unreachable');
    this.written.push([...statuses]);
  }
}

function setup() {
  const source = new FakeSource();
  const device = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: () => {}, onPacket: () => {} });
  let mono = 1_000;
  const sync = new PeerSync({
    source,
    target: device,
    monotonicNow: () => mono,
    wallNow: () => Date.UTC(2026, 10, 22, 12, 0, 0) + mono,
    pollIntervalMs: 60_000,
    statusFlushMs: 60_000,
  });
  return { source, device, sync, advance: (ms: number) => (mono += ms) };
}

const device = (publicKey: string, tunnelIp: string, name: string, op: 'upsert' | 'remove' = 'upsert') =>
  ({ kind: 'device', op, publicKey, tunnelIp, name }) as const;

let current: PeerSync | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('PeerSync', () => {
  it('loads the peer set and drops peers the registry no longer has', async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    const a = newKey();
    const stale = newKey();
    source.commit([device(a, '100.64.0.2', 'an1'), { kind: 'admin', op: 'upsert', publicKey: newKey(), tunnelIp: '100.64.0.3', name: 'laptop' }]);
    wg.addPeer({ publicKey: stale, allowedIps: ['100.64.0.9/32'] });
    await sync.start();
    expect(wg.peers().map((p) => p.publicKey).sort()).toEqual((await source.listPeers()).peers.map((p) => p.publicKey).sort());
    expect(wg.getPeer(a)?.allowedIps).toEqual(['100.64.0.2/32']);
    expect(sync.roleOf(parseIpv4Address('100.64.0.2'))).toBe('device');
    expect(sync.roleOf(parseIpv4Address('100.64.0.3'))).toBe('admin');
    expect(sync.roleOf(parseIpv4Address('100.64.0.9'))).toBeUndefined();
  });

  it('names the device at a tunnel address from the peer set, with its organisation, and follows changes', async () => {
    const { source, sync } = setup();
    current = sync;
    const org = '11111111-1111-4111-8111-111111111111';
    source.commit([
      { ...device(newKey(), '100.64.0.2', 'an1'), organizationId: org },
      device(newKey(), '100.64.0.4', 'an2'),
      { kind: 'admin', op: 'upsert', publicKey: newKey(), tunnelIp: '100.64.0.3', name: 'laptop' },
    ]);
    await sync.start();
    expect(sync.deviceAt(parseIpv4Address('100.64.0.2'))).toEqual({ serial: 'an1', organizationId: org });
    expect(sync.deviceAt(parseIpv4Address('100.64.0.4'))).toEqual({ serial: 'an2', organizationId: null });
    expect(sync.deviceAt(parseIpv4Address('100.64.0.3'))).toBeUndefined(); // an admin peer is no device
    expect(sync.deviceAt(parseIpv4Address('100.64.0.9'))).toBeUndefined();
    // The address goes to another device: the peer set names that one.
    source.commit([device((await source.listPeers()).peers.find((p) => p.name === 'an1')!.publicKey, '100.64.0.2', 'an1', 'remove'), device(newKey(), '100.64.0.2', 'an7')]);
    await sync.catchUp();
    expect(sync.deviceAt(parseIpv4Address('100.64.0.2'))).toEqual({ serial: 'an7', organizationId: null });
  });

  it("names each written peer's kind, so the registry writes only that peer's table", async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    const [dev, admin] = [newKey(), newKey()];
    source.commit([device(dev, '100.64.0.2', 'an1'), { kind: 'admin', op: 'upsert', publicKey: admin, tunnelIp: '100.64.0.3', name: 'laptop' }]);
    await sync.start();
    for (const key of [dev, admin]) wg.updatePeer(key, { endpoint: { address: '198.51.100.1', port: 4000 } });
    await sync.flushStatus();
    expect(Object.fromEntries(source.written[0]!.map((s) => [s.publicKey, s.kind]))).toEqual({ [dev]: 'device', [admin]: 'admin' });
  });

  it('applies registrations, disables and re-keys as they are committed', async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    await sync.start();
    const a = newKey();
    source.commit([device(a, '100.64.0.2', 'an1')]);
    await sync.catchUp();
    expect(wg.getPeer(a)).toBeDefined();

    // Disable: the peer goes away and its address no longer routes.
    source.commit([device(a, '100.64.0.2', 'an1', 'remove')]);
    await sync.catchUp();
    expect(wg.getPeer(a)).toBeUndefined();
    expect(sync.roleOf(parseIpv4Address('100.64.0.2'))).toBeUndefined();

    // Re-key on the same address, announced as a bare upsert: the old key loses the address.
    source.commit([device(a, '100.64.0.2', 'an1')]);
    const b = newKey();
    source.commit([device(b, '100.64.0.2', 'an1')]);
    await sync.catchUp();
    expect(wg.getPeer(a)).toBeUndefined();
    expect(wg.getPeer(b)?.allowedIps).toEqual(['100.64.0.2/32']);
    expect(sync.peerAt(parseIpv4Address('100.64.0.2'))).toBe(b);
    expect(sync.peerVersion).toBe(source.version);
  });

  it("applies its own process's committed changes at once, without reading the feed", async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    await sync.start();
    let reads = 0;
    const changesSince = source.changesSince.bind(source);
    source.changesSince = (v) => (reads++, changesSince(v));
    const a = newKey();
    // The registry emits before it answers the registration: the peer is there when commit returns.
    source.commit([device(a, '100.64.0.2', 'an1')]);
    expect(wg.getPeer(a)).toBeDefined();
    source.commit([device(a, '100.64.0.2', 'an1', 'remove')]);
    expect(wg.getPeer(a)).toBeUndefined();
    expect(sync.peerVersion).toBe(2);
    expect(reads).toBe(0);
  });

  it('reads the feed when a committed change is not the next version (one recorded elsewhere came first)', async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    await sync.start();
    const [a, b] = [newKey(), newKey()];
    source.commit([device(a, '100.64.0.2', 'an1')], false);
    source.commit([device(b, '100.64.0.3', 'an2')]);
    // Version 2 alone would skip version 1: nothing is applied out of order.
    expect(wg.getPeer(b)).toBeUndefined();
    await sync.catchUp();
    expect(wg.getPeer(a)).toBeDefined();
    expect(wg.getPeer(b)).toBeDefined();
    expect(sync.peerVersion).toBe(2);
  });

  it('never applies a catch-up page over newer changes applied meanwhile', async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    await sync.start();
    const a = newKey();
    // A poll reads the feed just after version 1 (a's registration) committed …
    let answer!: (page: PeerChanges) => void;
    source.changesSince = () => new Promise((r) => (answer = r));
    const polling = sync.catchUp();
    source.commit([device(a, '100.64.0.2', 'an1')]);
    // … and before its page arrives, a is disabled here (version 2), applied at once.
    source.commit([device(a, '100.64.0.2', 'an1', 'remove')]);
    expect(wg.getPeer(a)).toBeUndefined();
    answer({ version: 1, changes: source.log.filter((c) => c.version === 1), more: false });
    await polling;
    expect(wg.getPeer(a)).toBeUndefined();
    expect(sync.peerVersion).toBe(2);
  });

  it('catches up on changes that arrived without a notification (another hub node)', async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    await sync.start();
    const keys = Array.from({ length: 5 }, newKey);
    keys.forEach((k, i) => source.commit([device(k, `100.64.0.${10 + i}`, `an${i}`)], false));
    expect(wg.peerCount).toBe(0);
    await sync.catchUp();
    expect(wg.peerCount).toBe(5);
  });

  it('keeps the current peers while the database is away, and resumes', async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    const a = newKey();
    source.commit([device(a, '100.64.0.2', 'an1')]);
    await sync.start();
    source.failing = true;
    await sync.catchUp();
    expect(wg.getPeer(a)).toBeDefined();
    source.failing = false;
    const b = newKey();
    source.commit([device(b, '100.64.0.3', 'an2')], false);
    await sync.catchUp();
    expect(wg.getPeer(b)).toBeDefined();
  });

  it('writes back only peers whose status changed, and none that was not heard from since start', async () => {
    const { source, device: wg, sync } = setup();
    current = sync;
    const [k1, k2, k3] = [newKey(), newKey(), newKey()];
    source.commit([device(k1, '100.64.0.2', 'an1'), device(k2, '100.64.0.3', 'an2')]);
    await sync.start();
    await sync.flushStatus();
    expect(source.written).toHaveLength(0); // nobody heard from yet: the rows keep what they had
    wg.updatePeer(k1, { endpoint: { address: '198.51.100.1', port: 4000 } });
    wg.updatePeer(k2, { endpoint: { address: '198.51.100.2', port: 4000 } });
    await sync.flushStatus();
    expect(source.written).toHaveLength(1);
    expect(source.written[0]).toHaveLength(2);
    expect(source.written[0]![0]).toMatchObject({ publicKey: k1, kind: 'device', lastHandshakeAt: null, endpoint: '198.51.100.1:4000', rxBytes: 0, txBytes: 0 });
    await sync.flushStatus();
    expect(source.written).toHaveLength(1); // nothing changed, nothing written

    source.failing = true;
    source.commit([device(k3, '100.64.0.4', 'an3')], false);
    await sync.catchUp(); // fails quietly: the new peer is not known yet
    source.failing = false;
    await sync.catchUp();
    wg.updatePeer(k3, { endpoint: { address: '198.51.100.3', port: 4000 } });
    source.failing = true;
    await sync.flushStatus(); // write fails: must be retried
    source.failing = false;
    await sync.flushStatus();
    expect(source.written).toHaveLength(2);
    expect(source.written[1]!.map((w) => w.publicKey)).toEqual([k3]);
  });

  it('writes traffic-only changes late (keepalives), big traffic and handshakes at once, and everything on stop', async () => {
    const source = new FakeSource();
    const wg = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: () => {}, onPacket: () => {} });
    // The device's counters only move with real packets: this view adds traffic and handshakes per key.
    const extra = new Map<string, { rx: number; handshakeMs?: number }>();
    const target = {
      addPeer: (c: Parameters<WireGuardDevice['addPeer']>[0]) => wg.addPeer(c),
      updatePeer: (k: string, u: Parameters<WireGuardDevice['updatePeer']>[1]) => wg.updatePeer(k, u),
      removePeer: (k: string) => wg.removePeer(k),
      getPeer: (k: string) => wg.getPeer(k),
      peers: () => wg.peers().map((p) => ({ ...p, rxBytes: extra.get(p.publicKey)?.rx ?? 0, lastHandshakeMs: extra.get(p.publicKey)?.handshakeMs })),
      forEachPeerActivity: (visit: Parameters<WireGuardDevice['forEachPeerActivity']>[0]) =>
        wg.forEachPeerActivity((key, endpoint, _handshakeMs, _rx, tx) => visit(key, endpoint, extra.get(key)?.handshakeMs, extra.get(key)?.rx ?? 0, tx)),
    };
    let mono = 1_000;
    const sync = new PeerSync({ source, target, monotonicNow: () => mono, pollIntervalMs: 60_000, statusFlushMs: 60_000, trafficFlushMs: 300_000 });
    current = sync;
    const [idle, busy, rekeyed] = [newKey(), newKey(), newKey()];
    source.commit([device(idle, '100.64.0.2', 'an1'), device(busy, '100.64.0.3', 'an2'), device(rekeyed, '100.64.0.4', 'an3')]);
    await sync.start();
    const connectedMs = mono;
    for (const key of [idle, busy, rekeyed]) extra.set(key, { rx: 0, handshakeMs: connectedMs });
    await sync.flushStatus();
    expect(source.written.at(-1)).toHaveLength(3);

    const writtenKeys = () => source.written.at(-1)!.map((s) => s.publicKey).sort();
    extra.set(idle, { rx: 32, handshakeMs: connectedMs }); // one keepalive
    extra.set(busy, { rx: TRAFFIC_WRITE_BYTES, handshakeMs: connectedMs });
    extra.set(rekeyed, { rx: 32, handshakeMs: mono + 1 });
    mono += 10_000;
    await sync.flushStatus();
    expect(writtenKeys()).toEqual([busy, rekeyed].sort());

    mono += 10_000;
    const before = source.written.length;
    await sync.flushStatus();
    expect(source.written).toHaveLength(before); // the idle peer's 32 bytes wait

    mono += 300_000;
    await sync.flushStatus();
    expect(writtenKeys()).toEqual([idle]);
    expect(source.written.at(-1)![0]).toMatchObject({ rxBytes: 32 });

    extra.set(idle, { rx: 64, handshakeMs: connectedMs });
    await sync.stop(); // the last write carries every change
    expect(writtenKeys()).toEqual([idle]);
    expect(source.written.at(-1)![0]).toMatchObject({ rxBytes: 64 });
  });

  it('writes a device coming online at once and alone; rekeys of online devices wait for the status flush', async () => {
    const source = new FakeSource();
    const wg = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: () => {}, onPacket: () => {} });
    // Handshake times per key, as the device would report them after real handshakes.
    const handshakes = new Map<string, number>();
    const target: PeerTarget = {
      addPeer: (c) => wg.addPeer(c),
      updatePeer: (k, u) => wg.updatePeer(k, u),
      removePeer: (k) => wg.removePeer(k),
      getPeer: (k) => {
        const p = wg.getPeer(k);
        return p && { ...p, lastHandshakeMs: handshakes.get(k) };
      },
      peers: () => wg.peers().map((p) => ({ ...p, lastHandshakeMs: handshakes.get(p.publicKey) })),
      forEachPeerActivity: (visit) => wg.forEachPeerActivity((k, endpoint, _hs, rx, tx) => visit(k, endpoint, handshakes.get(k), rx, tx)),
    };
    let mono = 1_000;
    const sync = new PeerSync({ source, target, monotonicNow: () => mono, wallNow: () => 1_800_000_000_000 + mono, pollIntervalMs: 60_000, statusFlushMs: 60_000 });
    current = sync;
    const [a, b, quiet] = [newKey(), newKey(), newKey()];
    source.commit([device(a, '100.64.0.2', 'an1'), device(b, '100.64.0.3', 'an2'), device(quiet, '100.64.0.4', 'an3')]);
    await sync.start();
    const handshake = (key: string) => {
      handshakes.set(key, mono);
      wg.updatePeer(key, { endpoint: { address: '198.51.100.1', port: 40_000 + handshakes.size } });
      sync.handshakeCompleted(key);
    };
    const waitForWrites = async (count: number) => {
      for (let i = 0; i < 100 && source.written.length < count; i++) await new Promise((r) => setTimeout(r, FIRST_CONTACT_DELAY_MS / 4));
      expect(source.written).toHaveLength(count);
    };

    // Two devices come online: one prompt write carries both, long before the 60 s flush.
    handshake(a);
    handshake(b);
    await waitForWrites(1);
    expect(source.written[0]!.map((s) => s.publicKey).sort()).toEqual([a, b].sort());
    expect(source.written[0]![0]!.lastHandshakeAt).toEqual(new Date(1_800_000_000_000 + mono));

    // A rekey two minutes later: the device is online, so no prompt write...
    mono += 120_000;
    handshake(a);
    await new Promise((r) => setTimeout(r, FIRST_CONTACT_DELAY_MS * 3));
    expect(source.written).toHaveLength(1);
    // ...the status flush writes it (and nothing that did not change).
    await sync.flushStatus();
    expect(source.written).toHaveLength(2);
    expect(source.written[1]!.map((s) => s.publicKey)).toEqual([a]);
    expect(source.written[1]![0]!.lastHandshakeAt).toEqual(new Date(1_800_000_000_000 + mono));

    // b was written 2 minutes ago and is still online; after more than 180 s without a handshake
    // written, its next handshake is a device coming back online: written at once again.
    mono += 61_000;
    handshake(b);
    await waitForWrites(3);
    expect(source.written[2]!.map((s) => s.publicKey)).toEqual([b]);
    // A peer the registry removed in the meantime is not written.
    handshake(quiet);
    source.commit([device(quiet, '100.64.0.4', 'an3', 'remove')]);
    await sync.catchUp();
    await new Promise((r) => setTimeout(r, FIRST_CONTACT_DELAY_MS * 3));
    expect(source.written).toHaveLength(3);
  });
});
