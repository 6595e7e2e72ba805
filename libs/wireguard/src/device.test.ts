// Two in-process devices with a fake clock: handshake, data both ways, padding, key confirmation,
// cryptokey routing, roaming, replay/reordering, cookie replies under load, private key change.
import { describe, expect, it } from 'vitest';
import { WireGuardDevice } from './device.js';
import { generatePrivateKey } from './keys.js';
import { A_ENDPOINT, A_TUNNEL, B_ENDPOINT, B_TUNNEL, TestPair, ipv4Packet } from './testing/device-pair.js';
import { hex } from './testing/seeded.js';

const sizes = (pair: TestPair) => pair.wire.map((d) => `${d.from}:${d.datagram.length}`);

describe('WireGuardDevice: handshake and data', () => {
  it('queues the first packet, handshakes, confirms the key with that packet, and carries data both ways', () => {
    const pair = new TestPair();
    const ping = ipv4Packet(A_TUNNEL, B_TUNNEL, 36);
    expect(pair.a.send(ping, pair.now)).toBe(true);
    expect(sizes(pair)).toEqual(['a:148']); // initiation; the packet waits
    expect(pair.a.getPeer(pair.b.publicKey)!.stagedPackets).toBe(1);

    pair.deliver(pair.take()[0]!);
    expect(sizes(pair)).toEqual(['b:92']); // response
    expect(pair.b.getPeer(pair.a.publicKey)!.hasSession).toBe(false); // responder waits for confirmation
    expect([pair.a.sessionCount, pair.b.sessionCount]).toEqual([0, 0]);

    pair.deliver(pair.take()[0]!);
    expect(sizes(pair)).toEqual(['a:96']); // 16 header + 56 bytes padded to 64 + 16 tag
    expect([pair.a.sessionCount, pair.b.sessionCount]).toEqual([1, 0]); // the initiator may send; the responder awaits its first packet
    expect(pair.eventsOf('a', 'handshake-completed')).toEqual([
      { type: 'handshake-completed', peer: pair.b.publicKey, endpoint: B_ENDPOINT, role: 'initiator' },
    ]);
    pair.flush();
    expect(pair.delivered.b.map(hex)).toEqual([hex(ping)]); // trimmed back to the IP length
    expect(pair.eventsOf('b', 'handshake-completed')).toEqual([
      { type: 'handshake-completed', peer: pair.a.publicKey, endpoint: A_ENDPOINT, role: 'responder' },
    ]);

    const pong = ipv4Packet(B_TUNNEL, A_TUNNEL, 100, 0xcd);
    expect(pair.b.send(pong, pair.now)).toBe(true);
    pair.flush();
    expect(pair.delivered.a.map(hex)).toEqual([hex(pong)]);

    const a = pair.a.getPeer(pair.b.publicKey)!;
    const b = pair.b.getPeer(pair.a.publicKey)!;
    expect(a.lastHandshakeMs).toBe(pair.now);
    expect(b.lastHandshakeMs).toBe(pair.now);
    // The cheap lookup agrees with the full status, and knows no stranger.
    expect(pair.a.lastHandshakeOf(pair.b.publicKey)).toBe(a.lastHandshakeMs);
    expect(pair.b.lastHandshakeOf(pair.a.publicKey)).toBe(b.lastHandshakeMs);
    expect(pair.a.lastHandshakeOf(pair.a.publicKey)).toBeUndefined();
    expect(a.txBytes).toBe(148 + 96);
    expect(b.rxBytes).toBe(148 + 96);
    expect(b.txBytes).toBe(92 + 16 + 128 + 16);
    expect(a.rxBytes).toBe(b.txBytes);
    expect(a.hasSession && b.hasSession).toBe(true);
    // The count agrees with the statuses, and a session past REJECT_AFTER_TIME no longer counts.
    expect([pair.a.sessionCount, pair.b.sessionCount]).toEqual([1, 1]);
    pair.a.tick(pair.now + 180_000);
    expect(pair.a.getPeer(pair.b.publicKey)!.hasSession).toBe(false);
    expect(pair.a.sessionCount).toBe(0);
  });

  it('pads to 16 bytes but never beyond the MTU, and keepalives are 32 bytes', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL, 1), pair.now); // 21 bytes → 32
    pair.flush();
    pair.take();
    const lengths = [21, 32, 33, 1400, 1419, 1420].map((n) => {
      pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL, n - 20), pair.now);
      return pair.take()[0]!.datagram.length - 32;
    });
    expect(lengths).toEqual([32, 32, 48, 1408, 1420, 1420]);
  });

  it('sends a passive keepalive 10 s after receiving data when it had nothing to send', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    const sent: string[] = [];
    pair.advance(9_999);
    expect(pair.wire.length).toBe(0);
    const before = pair.a.getPeer(pair.b.publicKey)!.rxBytes;
    pair.now += 1;
    pair.b.tick(pair.now);
    for (const d of pair.take()) sent.push(`${d.from}:${d.datagram.length}`);
    expect(sent).toEqual(['b:32']);
    expect(before).toBeGreaterThan(0);
  });

  it('drops an inner packet whose source is not in the sender’s allowed IPs (cryptokey routing)', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    expect(pair.a.send(ipv4Packet('10.9.9.9', B_TUNNEL), pair.now)).toBe(true); // routed by destination
    pair.flush();
    expect(pair.delivered.b.length).toBe(1);
    expect(pair.b.drops['disallowed-source']).toBe(1);
    expect(pair.a.send(ipv4Packet(A_TUNNEL, '10.0.0.77'), pair.now)).toBe(false); // no peer owns it
    expect(pair.a.drops['no-route']).toBe(1);
    expect(pair.a.send(new Uint8Array([0x10, 1, 2]), pair.now)).toBe(false);
    expect(pair.a.drops['not-ip']).toBe(1);
  });

  it('routes by longest prefix among several peers and carries IPv6', () => {
    const pair = new TestPair({
      aPeer: { allowedIps: [`${B_TUNNEL}/32`, 'fd00::2/128'] },
      bPeer: { allowedIps: [`${A_TUNNEL}/32`, 'fd00::1/128'] },
    });
    const third = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: () => {}, onPacket: () => {} });
    pair.a.addPeer({ publicKey: third.publicKey, allowedIps: ['10.0.0.0/24'], endpoint: { address: '192.0.2.3', port: 1 } });
    pair.a.send(ipv4Packet(A_TUNNEL, '10.0.0.3'), pair.now);
    expect(pair.take()[0]!.to).toEqual({ address: '192.0.2.3', port: 1 }); // the /24 peer
    const v6 = new Uint8Array(48);
    v6[0] = 0x60;
    v6[5] = 8; // payload length 8
    v6.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
    v6.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
    pair.a.send(v6, pair.now);
    pair.flush();
    expect(pair.delivered.b.map(hex)).toEqual([hex(v6)]);
  });
});

describe('WireGuardDevice: roaming and endpoints', () => {
  it('learns an unknown initiator’s endpoint and follows it when it roams, answering on the new one', () => {
    const pair = new TestPair({ bPeer: { endpoint: undefined } }); // B is a hub: no endpoint for A
    expect(pair.b.send(ipv4Packet(B_TUNNEL, A_TUNNEL), pair.now)).toBe(true);
    expect(pair.b.drops['no-endpoint']).toBe(1); // cannot initiate; the packet waits
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    expect(pair.b.getPeer(pair.a.publicKey)!.endpoint).toEqual(A_ENDPOINT);
    expect(pair.delivered.a.length).toBe(1); // B's queued packet went out once A confirmed the session

    const roamed = { address: '198.51.100.7', port: 40000, transport: 'udp' };
    pair.source.a = roamed;
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    expect(pair.eventsOf('b', 'endpoint-changed').at(-1)).toEqual({
      type: 'endpoint-changed',
      peer: pair.a.publicKey,
      endpoint: roamed,
      previous: A_ENDPOINT,
    });
    pair.b.send(ipv4Packet(B_TUNNEL, A_TUNNEL), pair.now);
    expect(pair.wire[0]!.to).toBe(roamed); // the very object the packet came from
  });

  it('follows a peer onto another transport (e.g. a WebSocket carrier) at the same address', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    const overWebSocket = { address: A_ENDPOINT.address, port: A_ENDPOINT.port, transport: 'ws', connectionId: 7 };
    pair.source.a = overWebSocket;
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    expect(pair.eventsOf('b', 'endpoint-changed').at(-1)).toMatchObject({ endpoint: { transport: 'ws' }, previous: A_ENDPOINT });
    pair.b.send(ipv4Packet(B_TUNNEL, A_TUNNEL), pair.now);
    expect(pair.wire[0]!.to).toBe(overWebSocket);
  });

  it('keeps the endpoint object it holds for datagrams from the same UDP place, and takes the newest of another carrier', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    const held = pair.b.getPeer(pair.a.publicKey)!.endpoint!;
    pair.source.a = { ...held };
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    expect(pair.b.getPeer(pair.a.publicKey)!.endpoint).toBe(held);
    expect(pair.eventsOf('b', 'endpoint-changed')).toHaveLength(0);

    // Two connections of a carrier from the same address and port: the newer one is where replies go.
    const first = { address: '192.0.2.9', port: 443, transport: 'ws', connectionId: 1 };
    const second = { ...first, connectionId: 2 };
    pair.source.a = first;
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    pair.source.a = second;
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    expect(pair.b.getPeer(pair.a.publicKey)!.endpoint).toBe(second);
    expect(pair.eventsOf('b', 'endpoint-changed')).toHaveLength(1);
  });

  it('does not roam on packets that fail authentication or are replays', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    const [data] = pair.take();
    pair.deliver(data!);
    const attacker = { address: '203.0.113.66', port: 6666 };
    pair.deliver(data!, attacker); // replay from elsewhere
    const forged = Uint8Array.from(data!.datagram);
    forged[forged.length - 1]! ^= 1;
    pair.b.receive(forged, attacker, pair.now);
    expect(pair.b.getPeer(pair.a.publicKey)!.endpoint).toEqual(A_ENDPOINT);
    expect(pair.b.drops['replayed-counter']).toBe(1);
    expect(pair.b.drops['decrypt-failed']).toBe(1);
  });
});

describe('WireGuardDevice: replay window and reordering', () => {
  it('accepts reordered packets once, drops duplicates and packets far outside the window', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    const packets = Array.from({ length: 8200 }, (_, i) => {
      pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL, 8, i & 0xff), pair.now);
      return pair.take()[0]!;
    });
    const before = pair.delivered.b.length;
    // Deliver 0..99 in reverse: all accepted once.
    for (let i = 99; i >= 0; i--) pair.deliver(packets[i]!);
    expect(pair.delivered.b.length - before).toBe(100);
    for (let i = 0; i < 100; i += 7) pair.deliver(packets[i]!);
    expect(pair.b.drops['replayed-counter']).toBe(15);
    // Jump ahead: counter 8199 (+1 for the first packet) moves the window past the first ones.
    pair.deliver(packets[8199]!);
    pair.deliver(packets[100]!); // 8100 behind: still inside the 8128 window, never seen → accepted
    pair.deliver(packets[50]!); // seen
    pair.deliver(packets[60]!); // seen
    pair.deliver(packets[5]!); // > 8128 behind the highest: too old
    expect(pair.delivered.b.length - before).toBe(102);
    expect(pair.b.drops['replayed-counter']).toBe(18);
  });
});

describe('WireGuardDevice: cookies under load', () => {
  it('answers a handshake without mac2 by a cookie reply; the retransmit carries mac2 and succeeds', () => {
    const pair = new TestPair({ b: { underLoad: true } });
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    expect(pair.b.drops['cookie-required']).toBe(1);
    expect(pair.eventsOf('a', 'handshake-completed')).toEqual([]);
    expect(pair.a.drops['bad-cookie-reply']).toBe(0);
    pair.advance(5_400); // retransmit after REKEY_TIMEOUT + jitter, now with a valid mac2
    expect(pair.eventsOf('a', 'handshake-completed').length).toBe(1);
    expect(pair.delivered.b.length).toBe(1);
    expect(pair.b.drops['cookie-required']).toBe(1);
  });

  it('rate-limits handshakes per source under load even when mac2 is valid (burst 5)', () => {
    const pair = new TestPair({ b: { underLoad: true } });
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush(); // initiation → cookie reply → A holds a cookie
    pair.now += 5_400;
    pair.a.tick(pair.now);
    const [init] = pair.take();
    for (let i = 0; i < 7; i++) pair.deliver(init!);
    expect(pair.b.drops['replayed-timestamp']).toBe(4); // 5 passed the limiter; 1 consumed, 4 replays
    expect(pair.b.drops['rate-limited']).toBe(2);
  });

  it('detects load automatically from the handshake rate, and leaves that state 1 s later', () => {
    const pair = new TestPair({ b: { underLoadHandshakesPerSecond: 3 } });
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    const [init] = pair.take();
    for (let i = 0; i < 3; i++) pair.deliver(init!); // 3 per second is not load yet
    expect(pair.b.drops['replayed-timestamp']).toBe(2);
    expect(pair.take().map((d) => d.datagram.length)).toEqual([92]); // the response (lost here)
    pair.deliver(init!); // the 4th within a second: under load, no mac2 → cookie reply only
    expect(pair.b.drops['cookie-required']).toBe(1);
    expect(pair.take().map((d) => d.datagram.length)).toEqual([64]); // (lost as well)
    pair.advance(5_400); // A retransmits without a cookie; B is no longer under load and accepts
    expect(pair.b.drops['cookie-required']).toBe(1);
    expect(pair.eventsOf('a', 'handshake-completed').length).toBe(1);
  });

  it('drops handshakes with a bad mac1 before any DH work and never answers them', () => {
    const pair = new TestPair({ b: { underLoad: true } });
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    const [init] = pair.take();
    const bad = Uint8Array.from(init!.datagram);
    bad[20]! ^= 4;
    pair.b.receive(bad, A_ENDPOINT, pair.now);
    expect(pair.b.drops['bad-mac1']).toBe(1);
    expect(pair.wire.length).toBe(0);
  });
});

describe('WireGuardDevice: configuration', () => {
  it('validates peer configuration, reporting the bad field and changing nothing', () => {
    const pair = new TestPair();
    expect(() => pair.a.addPeer({ publicKey: 'nope', allowedIps: [] })).toThrow(/publicKey: key: expected 44/);
    expect(() => pair.a.addPeer({ publicKey: pair.b.publicKey, allowedIps: [] })).toThrow(/already exists/);
    const fresh = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: () => {}, onPacket: () => {} });
    expect(() => pair.a.addPeer({ publicKey: fresh.publicKey, allowedIps: ['10.0.0.0/99'] })).toThrow(/prefix length/);
    expect(pair.a.getPeer(fresh.publicKey)).toBeUndefined();
    expect(() => pair.a.updatePeer(pair.b.publicKey, { allowedIps: ['10.1.0.0/16', 'bad'] })).toThrow(/"bad"/);
    expect(pair.a.getPeer(pair.b.publicKey)!.allowedIps).toEqual([`${B_TUNNEL}/32`]);
    expect(() => pair.a.updatePeer(pair.b.publicKey, { persistentKeepaliveSeconds: 70000 })).toThrow(/1–65535/);
    expect(() => pair.a.addPeer({ publicKey: pair.a.publicKey, allowedIps: [] })).toThrow(/own public key/);
  });

  it('produces no handshake traffic for a peer with a low-order public key', () => {
    const pair = new TestPair();
    const lowOrder = Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex');
    pair.a.addPeer({ publicKey: lowOrder, allowedIps: ['10.5.0.0/16'], endpoint: { address: '192.0.2.99', port: 1 } });
    expect(pair.a.send(ipv4Packet(A_TUNNEL, '10.5.0.1'), pair.now)).toBe(true);
    const toLowOrder: unknown[] = [...pair.wire.filter((d) => d.to.address === '192.0.2.99')];
    pair.advance(60_000, (d) => (d.to.address === '192.0.2.99' && toLowOrder.push(d), false));
    expect(toLowOrder).toEqual([]);
    expect(pair.eventsOf('a', 'handshake-initiated')).toEqual([]);
  });

  it('updates allowed IPs and removes peers', () => {
    const pair = new TestPair();
    pair.a.updatePeer(pair.b.publicKey, { allowedIps: ['10.0.1.0/24'] });
    expect(pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now)).toBe(false);
    expect(pair.a.send(ipv4Packet(A_TUNNEL, '10.0.1.5'), pair.now)).toBe(true);
    expect(pair.a.peers().map((p) => p.allowedIps)).toEqual([['10.0.1.0/24']]);
    expect(pair.a.removePeer(pair.b.publicKey)).toBe(true);
    expect(pair.a.removePeer(pair.b.publicKey)).toBe(false);
    expect(pair.a.peerCount).toBe(0);
    expect(pair.a.send(ipv4Packet(A_TUNNEL, '10.0.1.5'), pair.now)).toBe(false);
    pair.advance(200_000); // the removed peer's timers never fire
    expect(pair.wire.length).toBe(0);
  });

  it('changes its private key: old sessions end, peers that learn the new key handshake again', () => {
    const pair = new TestPair();
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    const oldKey = pair.a.publicKey;
    pair.a.setPrivateKey(generatePrivateKey());
    expect(pair.a.publicKey).not.toBe(oldKey);
    expect(pair.eventsOf('a', 'keys-zeroed')).toEqual([{ type: 'keys-zeroed', peer: pair.b.publicKey, reason: 'private-key-changed' }]);
    // B still knows the old key: A's new initiation is from an unknown peer.
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    expect(pair.b.drops['unknown-peer']).toBe(1);
    pair.b.removePeer(oldKey);
    pair.b.addPeer({ publicKey: pair.a.publicKey, allowedIps: [`${A_TUNNEL}/32`], endpoint: A_ENDPOINT });
    pair.advance(6_000);
    expect(pair.delivered.b.length).toBe(2);
  });
});
