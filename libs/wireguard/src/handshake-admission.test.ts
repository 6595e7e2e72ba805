// What a handshake message must pass before DH work, on a fake clock: the order of the cheap
// checks (junk never reaches X25519: the DH calls are counted), cookie replies and mac2 under load
// (per-address reply limit, secret rotation), and the handshake queue with its budget.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { COOKIE_REFRESH_TIME_MS, COOKIE_REPLIES_PER_SECOND, UNDER_LOAD_AFTER_TIME_MS } from './constants.js';
import { WireGuardDevice } from './device.js';
import { CookieChecker, CookieGenerator } from './cookie.js';
import { endpointCookieBytes } from './endpoint.js';
import { decodeKey, encodeKey, generatePrivateKey, publicKeyFromPrivate } from './keys.js';
import { A_ENDPOINT, A_TUNNEL, B_TUNNEL, TestPair, ipv4Packet } from './testing/device-pair.js';
import { bogusInitiations } from './testing/flood.js';
import * as x25519 from './x25519.js';

// Every X25519 operation the device does goes through these two: counting them shows what work a
// datagram caused.
vi.mock('./x25519.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./x25519.js')>();
  return { ...original, dh: vi.fn(original.dh), generateEphemeral: vi.fn(original.generateEphemeral) };
});
const dhCalls = () => vi.mocked(x25519.dh).mock.calls.length + vi.mocked(x25519.generateEphemeral).mock.calls.length;
beforeEach(() => {
  vi.mocked(x25519.dh).mockClear();
  vi.mocked(x25519.generateEphemeral).mockClear();
});

function responder(options: Partial<ConstructorParameters<typeof WireGuardDevice>[0]> = {}) {
  const sent: Uint8Array[] = [];
  const device = new WireGuardDevice({ privateKey: generatePrivateKey(), onTransmit: (d) => sent.push(d), onPacket: () => {}, ...options });
  return { device, sent };
}

describe('handshake admission: cheap checks first', () => {
  it('drops wrong sizes and types, then bad mac1, without any DH, reply or allocation of state', () => {
    const { device, sent } = responder({ underLoad: false });
    const valid = bogusInitiations(device.publicKey, 1)[0]!;
    vi.mocked(x25519.dh).mockClear();
    vi.mocked(x25519.generateEphemeral).mockClear();
    for (let i = 0; i < 1_000; i++) {
      const badMac1 = Uint8Array.from(valid);
      badMac1[116 + (i % 16)]! ^= 1 + (i % 255); // somewhere in mac1
      device.receive(badMac1, { address: '203.0.113.9', port: 1024 + i }, 1_000 + i);
    }
    device.receive(valid.subarray(0, 147), A_ENDPOINT, 2_000);
    const wrongType = Uint8Array.from(valid);
    wrongType[1] = 1; // reserved bytes must be zero: an unknown type
    device.receive(wrongType, A_ENDPOINT, 2_000);
    expect(dhCalls()).toBe(0);
    expect(sent).toEqual([]);
    expect(device.drops).toMatchObject({ 'bad-mac1': 1_000, 'bad-size': 1, 'unknown-type': 1 });
  });

  it('under load, valid-mac1 initiations without mac2 cost a cookie reply at most, never DH', () => {
    const { device, sent } = responder({ underLoad: true });
    const initiations = bogusInitiations(device.publicKey, 50);
    vi.mocked(x25519.dh).mockClear();
    vi.mocked(x25519.generateEphemeral).mockClear();
    for (let i = 0; i < 1_000; i++) device.receive(initiations[i % 50]!, { address: '203.0.113.9', port: 1024 + i }, 1_000);
    expect(dhCalls()).toBe(0);
    expect(device.drops['cookie-required']).toBe(1_000);
    // One address with rotating ports: cookie replies are limited per address (burst of 5).
    expect(sent.length).toBe(5);
    expect(sent.every((d) => d.length === 64 && d[0] === 3)).toBe(true);
  });

  it('bounds cookie replies to a spoofed flood (a new source address per datagram) by a global budget', () => {
    const { device, sent } = responder({ underLoad: true });
    const initiations = bogusInitiations(device.publicKey, 20);
    // 20,000 datagrams spread over one second of the fake clock, each from its own address.
    for (let i = 0; i < 20_000; i++) device.receive(initiations[i % 20]!, { address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: 5000 }, 1_000 + i / 20);
    expect(device.drops['cookie-required']).toBe(20_000);
    // COOKIE_REPLIES_PER_SECOND (10,000) plus the initial burst of a tenth of a second.
    expect(sent.length).toBeGreaterThan(9_000);
    expect(sent.length).toBeLessThanOrEqual(COOKIE_REPLIES_PER_SECOND + COOKIE_REPLIES_PER_SECOND / 10);
  });

  it('without load, a valid-mac1 initiation from an unknown key does cost DH (what the flood buys)', () => {
    const { device } = responder({ underLoad: false });
    const [initiation] = bogusInitiations(device.publicKey, 1);
    vi.mocked(x25519.dh).mockClear();
    device.receive(initiation!, A_ENDPOINT, 1_000);
    expect(dhCalls()).toBeGreaterThan(0);
    expect(device.drops['unknown-peer']).toBe(1);
  });
});

describe('cookies under load, on a fake clock', () => {
  it('goes under load when its handshake queue is an eighth full, and leaves 1 s after it drained', () => {
    const { device, sent } = responder({ deferHandshakes: true, handshakeQueueCapacity: 16 });
    const initiations = bogusInitiations(device.publicKey, 3);
    // Two queued (16/8): the third valid-mac1 message finds the device under load.
    device.receive(initiations[0]!, { address: '198.51.100.1', port: 1 }, 1_000);
    device.receive(initiations[1]!, { address: '198.51.100.2', port: 1 }, 1_000);
    expect(device.pendingHandshakes).toBe(2);
    device.receive(initiations[2]!, { address: '198.51.100.3', port: 1 }, 1_000);
    expect(device.pendingHandshakes).toBe(2);
    expect(device.drops['cookie-required']).toBe(1);
    expect(sent.map((d) => d[0])).toEqual([3]);
    expect(device.processHandshakes(1_010)).toBe(2);
    // Drained, but load lasts UNDER_LOAD_AFTER_TIME after it was last seen.
    device.receive(initiations[2]!, { address: '198.51.100.3', port: 1 }, 1_000 + UNDER_LOAD_AFTER_TIME_MS - 1);
    expect(device.drops['cookie-required']).toBe(2);
    device.receive(initiations[2]!, { address: '198.51.100.3', port: 1 }, 1_000 + UNDER_LOAD_AFTER_TIME_MS + 1);
    expect(device.pendingHandshakes).toBe(1);
  });

  it('counts only messages without mac2 towards the rate: honest retries with mac2 do not keep it under load', () => {
    const { device, sent } = responder({ underLoadHandshakesPerSecond: 3 });
    const source = { address: '198.51.100.30', port: 7000 };
    const msg = Uint8Array.from(bogusInitiations(device.publicKey, 1)[0]!);
    for (let i = 0; i < 4; i++) device.receive(msg, source, 1_000 + i); // the 4th within a second: load
    expect(device.drops['cookie-required']).toBe(1);
    const generator = new CookieGenerator(Buffer.from(decodeKey(device.publicKey)));
    generator.addMacs(msg, 1_000);
    expect(generator.consumeReply(sent.at(-1)!, 1_000)).toBe(true);
    generator.addMacs(msg, 1_000); // now with mac2
    // Ten retries with mac2 a little over a second later: not counted, so no longer under load
    // (under load the per-address bucket would have refused all but five).
    for (let i = 0; i < 10; i++) device.receive(msg, source, 2_010 + i);
    expect(device.drops['rate-limited']).toBe(0);
    expect(device.drops['unknown-peer']).toBe(3 + 10);
  });

  it('accepts mac2 made with a cookie for the same source until the secret is two minutes old', () => {
    const responderKey = generatePrivateKey();
    const responderPublic = publicKeyFromPrivate(responderKey);
    let random = 0;
    const checker = new CookieChecker(responderPublic, (n) => new Uint8Array(n).fill(++random));
    const generator = new CookieGenerator(Buffer.from(responderPublic));
    const source = endpointCookieBytes({ address: '198.51.100.20', port: 40_000 });
    const otherPort = endpointCookieBytes({ address: '198.51.100.20', port: 40_001 });
    const msg = Uint8Array.from(bogusInitiations(encodeKey(responderPublic), 1)[0]!);
    const t0 = 1_000_000;
    generator.addMacs(msg, t0); // mac1, zero mac2
    expect(checker.checkMac1(msg)).toBe(true);
    expect(checker.checkMac2(msg, source, t0)).toBe(false);
    expect(generator.consumeReply(checker.createReply(msg, 7, source, t0), t0)).toBe(true);
    generator.addMacs(msg, t0 + 1); // now with mac2 from the cookie
    expect(checker.checkMac2(msg, source, t0 + COOKIE_REFRESH_TIME_MS)).toBe(true);
    expect(checker.checkMac2(msg, otherPort, t0 + 1)).toBe(false);
    expect(checker.checkMac2(msg, source, t0 + COOKIE_REFRESH_TIME_MS + 1)).toBe(false);
  });

  it('gives an honest initiator its cookie reply while a flood from another address is being shed', () => {
    const pair = new TestPair({ b: { underLoad: true } });
    for (const [i, init] of bogusInitiations(pair.b.publicKey, 200).entries()) pair.b.receive(init, { address: '203.0.113.66', port: 2000 + i }, pair.now);
    pair.take(); // the flood's few cookie replies
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    pair.advance(5_400);
    expect(pair.eventsOf('a', 'handshake-completed')).toHaveLength(1);
    expect(pair.delivered.b).toHaveLength(1);
  });
});

describe('the handshake queue', () => {
  it('queues admitted handshakes without DH and processes exactly as many as it is asked to', () => {
    const { device, sent } = responder({ deferHandshakes: true, underLoad: false });
    const initiations = bogusInitiations(device.publicKey, 10);
    vi.mocked(x25519.dh).mockClear();
    vi.mocked(x25519.generateEphemeral).mockClear();
    for (const [i, init] of initiations.entries()) device.receive(init, { address: '198.51.100.7', port: 100 + i }, 1_000);
    expect(device.pendingHandshakes).toBe(10);
    expect(dhCalls()).toBe(0);
    expect(device.processHandshakes(1_001, 3)).toBe(3);
    expect(device.pendingHandshakes).toBe(7);
    expect(device.drops['unknown-peer']).toBe(3);
    expect(device.processHandshakes(1_002)).toBe(7);
    expect(device.processHandshakes(1_003)).toBe(0);
    expect(sent).toEqual([]);
  });

  it('delivers transport data at once while handshakes wait in the queue', () => {
    const pair = new TestPair({ b: { deferHandshakes: true } });
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.flush();
    pair.b.processHandshakes(pair.now);
    pair.flush(); // response, then A's first data packet confirms the session
    expect(pair.delivered.b).toHaveLength(1);
    for (const init of bogusInitiations(pair.b.publicKey, 20)) pair.b.receive(init, { address: '198.51.100.8', port: 9 }, pair.now);
    expect(pair.b.pendingHandshakes).toBe(20);
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL, 8, 0x42), pair.now);
    pair.flush();
    expect(pair.delivered.b).toHaveLength(2);
    expect(pair.b.pendingHandshakes).toBe(20);
  });

  it('drops what does not fit, and what waited longer than REKEY_TIMEOUT, unprocessed', () => {
    const { device } = responder({ deferHandshakes: true, handshakeQueueCapacity: 4, underLoad: false });
    const initiations = bogusInitiations(device.publicKey, 6);
    for (const [i, init] of initiations.entries()) device.receive(init, { address: '198.51.100.9', port: i + 1 }, 1_000);
    expect(device.pendingHandshakes).toBe(4);
    expect(device.drops['handshake-queue-full']).toBe(2);
    vi.mocked(x25519.dh).mockClear();
    expect(device.processHandshakes(1_000 + 5_001)).toBe(4);
    expect(device.drops['handshake-queue-stale']).toBe(4);
    expect(x25519.dh).not.toHaveBeenCalled();
  });
});
