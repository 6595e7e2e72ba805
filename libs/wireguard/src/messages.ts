// WireGuard message layouts (whitepaper §5.4, wireguard-go device/noise-protocol.go): byte offsets,
// little-endian field access and the dispatch rule (the first 4 bytes read as a LE u32 give the
// type, so non-zero reserved bytes make a message unknown; handshake types have exact sizes).
import {
  MESSAGE_COOKIE_REPLY_SIZE,
  MESSAGE_COOKIE_REPLY_TYPE,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_INITIATION_TYPE,
  MESSAGE_KEEPALIVE_SIZE,
  MESSAGE_RESPONSE_SIZE,
  MESSAGE_RESPONSE_TYPE,
  MESSAGE_TRANSPORT_TYPE,
} from './constants.js';

/** Type 1, 148 bytes. */
export const INITIATION = { sender: 4, ephemeral: 8, static: 40, timestamp: 88, mac1: 116, mac2: 132 } as const;
/** Type 2, 92 bytes. */
export const RESPONSE = { sender: 4, receiver: 8, ephemeral: 12, empty: 44, mac1: 60, mac2: 76 } as const;
/** Type 3, 64 bytes. */
export const COOKIE_REPLY = { receiver: 4, nonce: 8, cookie: 32 } as const;
/** Type 4, at least 32 bytes. */
export const TRANSPORT = { receiver: 4, counter: 8, content: 16 } as const;

export function readU32LE(b: Uint8Array, offset: number): number {
  return (b[offset]! | (b[offset + 1]! << 8) | (b[offset + 2]! << 16) | (b[offset + 3]! << 24)) >>> 0;
}

export function writeU32LE(b: Uint8Array, offset: number, value: number): void {
  b[offset] = value & 0xff;
  b[offset + 1] = (value >>> 8) & 0xff;
  b[offset + 2] = (value >>> 16) & 0xff;
  b[offset + 3] = (value >>> 24) & 0xff;
}

export type MessageKind = 'initiation' | 'response' | 'cookie-reply' | 'transport';

export type Classified =
  | { kind: MessageKind }
  | { kind: 'drop'; reason: 'too-short' | 'unknown-type' | 'bad-size' };

/** Classifies a datagram by type and size without touching anything else. Never throws. */
export function classifyMessage(datagram: Uint8Array): Classified {
  // Nothing valid is shorter than a keepalive; checking first keeps every later read in bounds.
  if (datagram.length < MESSAGE_KEEPALIVE_SIZE) return TOO_SHORT;
  switch (readU32LE(datagram, 0)) {
    case MESSAGE_INITIATION_TYPE:
      return datagram.length === MESSAGE_INITIATION_SIZE ? INITIATION_KIND : BAD_SIZE;
    case MESSAGE_RESPONSE_TYPE:
      return datagram.length === MESSAGE_RESPONSE_SIZE ? RESPONSE_KIND : BAD_SIZE;
    case MESSAGE_COOKIE_REPLY_TYPE:
      return datagram.length === MESSAGE_COOKIE_REPLY_SIZE ? COOKIE_REPLY_KIND : BAD_SIZE;
    case MESSAGE_TRANSPORT_TYPE:
      return TRANSPORT_KIND;
    default:
      return UNKNOWN_TYPE;
  }
}

// Shared answers: classifying a datagram (every datagram of a flood) allocates nothing.
const INITIATION_KIND: Classified = { kind: 'initiation' };
const RESPONSE_KIND: Classified = { kind: 'response' };
const COOKIE_REPLY_KIND: Classified = { kind: 'cookie-reply' };
const TRANSPORT_KIND: Classified = { kind: 'transport' };
const TOO_SHORT: Classified = { kind: 'drop', reason: 'too-short' };
const UNKNOWN_TYPE: Classified = { kind: 'drop', reason: 'unknown-type' };
const BAD_SIZE: Classified = { kind: 'drop', reason: 'bad-size' };

/** A new zeroed message of `size` bytes with its type word set. */
export function newMessage(type: number, size: number): Buffer {
  const msg = Buffer.alloc(size);
  writeU32LE(msg, 0, type);
  return msg;
}
