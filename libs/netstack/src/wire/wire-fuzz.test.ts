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
  type DropReason,
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

/** One header's entry points: its length check, its checked view, and its parser. */
interface EntryPoint {
  header: string;
  /** Where this header starts in a fuzzed input. */
  cut(bytes: Buffer, prng: Prng): Buffer;
  lengthError(bytes: Uint8Array): DropReason | undefined;
  /** The checked view (throws WireError) with its payload length and what its length fields allow. */
  checked(bytes: Uint8Array): { payloadLen: number; expectedLen: number };
  /** The parser (throws WireError), when the header has one; checks its own result. */
  parse?(bytes: Uint8Array, verifyChecksum: boolean): unknown;
}

/** A transport header in a random input sits where an IPv4 header of 20 bytes would end. */
const afterIpv4Header = (bytes: Buffer) => bytes.subarray(Math.min(bytes.length, 20));

const ENTRY_POINTS: EntryPoint[] = [
  {
    header: 'Ipv4Packet',
    cut: (bytes) => bytes,
    lengthError: ipv4LengthError,
    checked(bytes) {
      const view = Ipv4Packet.checked(bytes);
      return { payloadLen: view.payload.length, expectedLen: view.totalLen - view.headerLen };
    },
    parse: (bytes, verify) => parseIpv4(Ipv4Packet.checked(bytes), verify),
  },
  {
    header: 'TcpPacket',
    cut: afterIpv4Header,
    lengthError: tcpLengthError,
    checked(bytes) {
      const view = TcpPacket.checked(bytes);
      return { payloadLen: view.payload.length, expectedLen: bytes.length - view.headerLen };
    },
    parse(bytes, verify) {
      const repr = parseTcp(bytes, 0x7f000001, 0x7f000001, verify);
      expect(repr.payload.length).toBeLessThanOrEqual(bytes.length - 20);
      return repr;
    },
  },
  {
    header: 'IcmpPacket',
    cut: afterIpv4Header,
    lengthError: icmpLengthError,
    checked(bytes) {
      const view = IcmpPacket.checked(bytes);
      return { payloadLen: view.data.length, expectedLen: bytes.length - 8 };
    },
    parse: (bytes, verify) => parseIcmpv4(bytes, verify),
  },
  {
    header: 'UdpPacket',
    cut: (bytes, prng) => bytes.subarray(prng.int(24)),
    lengthError: udpLengthError,
    checked(bytes) {
      const view = UdpPacket.checked(bytes);
      return { payloadLen: view.payload.length, expectedLen: view.length - 8 };
    },
  },
];

describe(`wire parse entry points on random bytes (seed ${SEED})`, () => {
  it.each(ENTRY_POINTS.map((entry, i) => ({ ...entry, seed: SEED + i })))(
    '$header: the length check agrees with $header.checked, the payload stays inside; the parser drops or parses',
    ({ header, cut, lengthError, checked, parse, seed }) => {
      const prng = Prng.printed(seed);
      let parsed = 0;
      for (let n = 0; n < ROUNDS; n++) {
        const bytes = cut(input(prng), prng);
        const reason = lengthError(bytes);
        const view = dropOrValue(`${header}.checked`, bytes, () => checked(bytes));
        if (view instanceof WireError) expect(view.reason).toBe(reason);
        else {
          expect(reason).toBeUndefined();
          expect(view.payloadLen).toBe(view.expectedLen);
        }
        if (parse === undefined) continue;
        const repr = dropOrValue(`${header} parser`, bytes, () => parse(bytes, prng.next() < 0.5));
        if (!(repr instanceof WireError)) parsed++;
      }
      // The mutations keep enough packets valid to reach the parser.
      if (parse !== undefined) expect(parsed).toBeGreaterThan(100);
    },
  );
});
