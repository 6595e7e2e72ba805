// The restarted hub dials recently seen peers (found by the NAT lab: a device otherwise came back
// only after ~33 s). Endpoint parsing, the window, the echo packets, and PeerSync's handover.
import { formatIpv4Address } from '@porthole/netstack';
import { Ipv4Packet, parseIcmpv4, parseIpv4 } from '@porthole/netstack/wire';
import { WireGuardDevice, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { describe, expect, it, vi } from 'vitest';
import type { PeerSet } from '../registry/index.js';
import { PeerSync } from './peer-sync.js';
import { DIAL_ECHO_IDENT, dialPeers, parseEndpoint, RESUME_BATCH, RESUME_WINDOW_MS, resumablePeers } from './resume-peers.js';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

describe('parseEndpoint', () => {
  it.each([
    ['198.51.100.7:40000', { address: '198.51.100.7', port: 40000 }],
    ['[fd00::1]:51820', { address: 'fd00::1', port: 51820 }],
    ['198.51.100.7:0', undefined],
    ['198.51.100.7:70000', undefined],
    ['host.example:51820', undefined],
    ['198.51.100.7', undefined],
    ['', undefined],
  ])('%s', (text, expected) => expect(parseEndpoint(text)).toEqual(expected));
});

describe('resumablePeers', () => {
  it('keeps peers with an endpoint heard from within the window', () => {
    const at = (agoMs: number) => new Date(NOW - agoMs);
    const peers = [
      { publicKey: 'a', tunnelIp: '100.64.0.2', lastEndpoint: '198.51.100.7:40000', lastHandshakeAt: at(30_000) },
      { publicKey: 'b', tunnelIp: '100.64.0.3', lastEndpoint: '198.51.100.8:40000', lastHandshakeAt: at(RESUME_WINDOW_MS + 1) },
      { publicKey: 'c', tunnelIp: '100.64.0.4', lastEndpoint: null, lastHandshakeAt: at(1_000) },
      { publicKey: 'd', tunnelIp: '100.64.0.5', lastEndpoint: '198.51.100.9:1', lastHandshakeAt: null },
      { publicKey: 'e', tunnelIp: '100.64.0.6', lastEndpoint: 'garbage', lastHandshakeAt: at(1_000) },
      { publicKey: 'f', tunnelIp: '100.64.0.7', lastEndpoint: '198.51.100.10:5', lastHandshakeAt: at(-60_000) }, // future: clock trouble
    ];
    expect(resumablePeers(peers, NOW).map((p) => [p.publicKey, p.endpoint])).toEqual([['a', { address: '198.51.100.7', port: 40000 }]]);
  });
});

describe('dialPeers', () => {
  it('sends one echo per peer, in batches, and can be cancelled', () => {
    vi.useFakeTimers();
    try {
      const sent: Uint8Array[] = [];
      const peers = Array.from({ length: RESUME_BATCH * 2 + 5 }, (_, i) => ({ tunnelIp: `100.64.${i >> 8}.${i & 0xff}` }));
      const cancel = dialPeers('100.64.0.1', peers, (p) => sent.push(p));
      expect(sent.length).toBe(RESUME_BATCH);
      vi.advanceTimersByTime(60);
      expect(sent.length).toBe(RESUME_BATCH * 2);
      cancel();
      vi.advanceTimersByTime(1_000);
      expect(sent.length).toBe(RESUME_BATCH * 2);
      // Each one a valid echo request (both checksums verified) from the hub to its peer.
      const ip = parseIpv4(Ipv4Packet.checked(sent[2]!), true);
      expect([formatIpv4Address(ip.srcAddr), formatIpv4Address(ip.dstAddr), ip.protocol]).toEqual(['100.64.0.1', '100.64.0.2', 1]);
      expect(parseIcmpv4(new Ipv4Packet(sent[2]!).payload, true)).toMatchObject({ type: 8, identifier: DIAL_ECHO_IDENT, sequence: 2, data: { length: 0 } });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('PeerSync.takeResumable', () => {
  it('sets the last endpoint of recently seen peers, once, and a WireGuard handshake towards them starts on send', async () => {
    const key = () => encodeKey(publicKeyFromPrivate(generatePrivateKey()));
    const [recent, old] = [key(), key()];
    const set: PeerSet = {
      version: 1,
      peers: [
        { kind: 'device', publicKey: recent, tunnelIp: '100.64.0.2', name: 'an1', lastEndpoint: '198.51.100.7:40000', lastHandshakeAt: new Date(NOW - 5_000) },
        { kind: 'device', publicKey: old, tunnelIp: '100.64.0.3', name: 'an2', lastEndpoint: '198.51.100.8:40000', lastHandshakeAt: new Date(NOW - 3_600_000) },
      ],
    };
    const transmitted: Uint8Array[] = [];
    const wg = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: (d) => void transmitted.push(d), onPacket: () => {} });
    const sync = new PeerSync({
      source: { listPeers: async () => set, changesSince: async () => ({ version: 1, changes: [], more: false }), recordPeerStatus: async () => {} },
      target: wg,
      monotonicNow: () => 1_000,
      pollIntervalMs: 60_000,
      statusFlushMs: 60_000,
    });
    await sync.start();
    try {
      expect(sync.takeResumable(NOW)).toEqual([{ publicKey: recent, tunnelIp: '100.64.0.2' }]);
      expect(wg.getPeer(recent)!.endpoint).toEqual({ address: '198.51.100.7', port: 40000 });
      expect(wg.getPeer(old)!.endpoint).toBeUndefined();
      expect(sync.takeResumable(NOW)).toEqual([]); // only after the first load
      dialPeers('100.64.0.1', [{ tunnelIp: '100.64.0.2' }], (packet) => wg.send(packet, 1_000));
      expect(transmitted.length).toBe(1);
      expect(transmitted[0]![0]).toBe(1); // a handshake initiation
    } finally {
      await sync.stop();
    }
  });
});

describe('PeerSync onReturn', () => {
  it('dials a device re-enabled shortly after it was disabled, at its old endpoint', async () => {
    const key = encodeKey(publicKeyFromPrivate(generatePrivateKey()));
    let version = 1;
    let pending: unknown[] = [];
    const returned: { publicKey: string; tunnelIp: string }[][] = [];
    const wg = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: () => {}, onPacket: () => {} });
    const sync = new PeerSync({
      source: {
        listPeers: async () => ({ version: 1, peers: [{ kind: 'device', publicKey: key, tunnelIp: '100.64.0.2', name: 'an1' }] }),
        changesSince: async () => {
          const page = { version, changes: pending as never[], more: false };
          pending = [];
          return page;
        },
        recordPeerStatus: async () => {},
      },
      target: wg,
      monotonicNow: () => 1_000,
      pollIntervalMs: 60_000,
      statusFlushMs: 60_000,
      onReturn: (peers) => returned.push(peers),
    });
    await sync.start();
    try {
      wg.updatePeer(key, { endpoint: { address: '198.51.100.7', port: 40000 } }); // as roaming sets it
      version = 2;
      pending = [{ version: 2, op: 'remove', kind: 'device', publicKey: key, tunnelIp: '100.64.0.2', name: 'an1' }];
      await sync.catchUp();
      expect(wg.getPeer(key)).toBeUndefined();
      expect(returned).toEqual([]);
      version = 3;
      pending = [{ version: 3, op: 'upsert', kind: 'device', publicKey: key, tunnelIp: '100.64.0.2', name: 'an1' }];
      await sync.catchUp();
      expect(returned).toEqual([[{ publicKey: key, tunnelIp: '100.64.0.2' }]]);
      expect(wg.getPeer(key)!.endpoint).toEqual({ address: '198.51.100.7', port: 40000 });
    } finally {
      await sync.stop();
    }
  });
});
