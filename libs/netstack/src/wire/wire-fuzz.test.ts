// Every parse entry point of the wire layer on seeded random bytes and on mutations of captured
// packets: each returns a result or throws WireError (a counted drop), never anything else; the
// non-throwing length checks agree with the throwing constructors, and a view that passed its check
// reads only inside its bounds.
import { describe, expect, it } from 'vitest';
import { Prng } from '../testing/prng.js';
import { LINUX_DATA, LINUX_ECHO_REQUEST, LINUX_SYN, OVERLAY_ADMIN_PROHIBITED, SACK_ACK, hex } from '../testing/captured-packets.js';
import {
  icmpLengthError,
  IcmpPacket,
  ipv4LengthError,
  Ipv4Packet,
  parseIcmpv4,
  parseIpv4,
  parseTcp,
  tcpLengthError,
  TcpPacket,
  udpLengthError,
  UdpPacket,
  WireError,
} from './index.js';

const SEED = 1301;
const ROUNDS = 5_000;
const SAMPLES = [LINUX_SYN, LINUX_DATA, SACK_ACK, LINUX_ECHO_REQUEST, OVERLAY_ADMIN_PROHIBITED].map(hex);

/** Random bytes, or a captured packet with a few bytes changed and possibly cut short. */
function input(prng: Prng): Buffer {
  if (prng.next() < 0.4) return Buffer.from(prng.bytes(prng.int(100)));
  const copy = Buffer.from(SAMPLES[prng.int(SAMPLES.length)]!);
  for (let i = prng.int(4); i >= 0; i--) copy[prng.int(copy.length)] = prng.int(256);
  return prng.next() < 0.3 ? copy.subarray(0, prng.int(copy.length + 1)) : copy;
}

/** Runs `fn`; a WireError counts as a drop, anything else fails the test with the input. */
function dropOrValue<T>(name: string, bytes: Uint8Array, fn: () => T): T | WireError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof WireError) return err;
    throw new Error(`${name} threw ${String(err)} on ${Buffer.from(bytes).toString('hex')}`);
  }
}

describe(`wire parse entry points on random bytes (seed ${SEED})`, () => {
  it('IPv4: ipv4LengthError agrees with Ipv4Packet.checked; parseIpv4 drops or parses', () => {
    console.log(`seed ${SEED}`);
    const prng = new Prng(SEED);
    let parsed = 0;
    for (let n = 0; n < ROUNDS; n++) {
      const bytes = input(prng);
      const reason = ipv4LengthError(bytes);
      const view = dropOrValue('Ipv4Packet.checked', bytes, () => Ipv4Packet.checked(bytes));
      if (view instanceof WireError) {
        expect(view.reason).toBe(reason);
        continue;
      }
      expect(reason).toBeUndefined();
      expect(view.payload.length).toBe(view.totalLen - view.headerLen);
      const repr = dropOrValue('parseIpv4', bytes, () => parseIpv4(view, prng.next() < 0.5));
      if (!(repr instanceof WireError)) parsed++;
    }
    expect(parsed).toBeGreaterThan(100); // the mutations keep enough packets valid to reach the parser
  });

  it('TCP: tcpLengthError agrees with TcpPacket.checked; parseTcp drops or parses', () => {
    const prng = new Prng(SEED + 1);
    let parsed = 0;
    for (let n = 0; n < ROUNDS; n++) {
      const packet = input(prng);
      const bytes = packet.subarray(Math.min(packet.length, 20));
      const reason = tcpLengthError(bytes);
      const view = dropOrValue('TcpPacket.checked', bytes, () => TcpPacket.checked(bytes));
      if (view instanceof WireError) expect(view.reason).toBe(reason);
      else {
        expect(reason).toBeUndefined();
        expect(view.payload.length).toBe(bytes.length - view.headerLen);
      }
      const repr = dropOrValue('parseTcp', bytes, () => parseTcp(bytes, 0x7f000001, 0x7f000001, prng.next() < 0.5));
      if (!(repr instanceof WireError)) {
        parsed++;
        expect(repr.payload.length).toBeLessThanOrEqual(bytes.length - 20);
      }
    }
    expect(parsed).toBeGreaterThan(100);
  });

  it('ICMP: icmpLengthError agrees with IcmpPacket.checked; parseIcmpv4 drops or parses', () => {
    const prng = new Prng(SEED + 2);
    let parsed = 0;
    for (let n = 0; n < ROUNDS; n++) {
      const packet = input(prng);
      const bytes = packet.subarray(Math.min(packet.length, 20));
      const view = dropOrValue('IcmpPacket.checked', bytes, () => IcmpPacket.checked(bytes));
      if (view instanceof WireError) expect(view.reason).toBe(icmpLengthError(bytes));
      else expect(view.data.length).toBe(bytes.length - 8);
      const repr = dropOrValue('parseIcmpv4', bytes, () => parseIcmpv4(bytes, prng.next() < 0.5));
      if (!(repr instanceof WireError)) parsed++;
    }
    expect(parsed).toBeGreaterThan(100);
  });

  it('UDP: udpLengthError agrees with UdpPacket.checked, payload within the datagram', () => {
    const prng = new Prng(SEED + 3);
    for (let n = 0; n < ROUNDS; n++) {
      const bytes = input(prng).subarray(prng.int(24));
      const view = dropOrValue('UdpPacket.checked', bytes, () => UdpPacket.checked(bytes));
      if (view instanceof WireError) expect(view.reason).toBe(udpLengthError(bytes));
      else expect(view.payload.length).toBe(view.length - 8);
    }
  });
});
