// The public shapes of the device API: options, peer configuration and status, events, drop reasons
// and the logger interface. Keys cross the API as wg-style base64 strings (or raw 32-byte arrays).
import type { TransportAead } from './aead.js';
import type { Endpoint } from './endpoint.js';

export type { Endpoint } from './endpoint.js';

/** Optional structured logger; the library is silent without one. Keys appear only as keyTag(). */
export interface WireGuardLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

/** A key as `wg` prints it (44-character base64) or as 32 raw bytes. */
export type KeyInput = string | Uint8Array;

export interface PeerConfig {
  publicKey: KeyInput;
  presharedKey?: KeyInput;
  /** CIDR prefixes (IPv4 and IPv6) this peer may use as inner source and receives for. */
  allowedIps: string[];
  /** Where to send until the peer roams; peers behind NAT usually have none (the hub learns it). */
  endpoint?: Endpoint;
  /** Send a keepalive after this many seconds without sending anything; 0/undefined = off. */
  persistentKeepaliveSeconds?: number;
}

/** Fields of a peer that `updatePeer` may change; `allowedIps` replaces the whole set. */
export type PeerUpdate = Partial<Omit<PeerConfig, 'publicKey'>> & { presharedKey?: KeyInput | null };

export interface PeerStatus {
  publicKey: string;
  endpoint: Endpoint | undefined;
  allowedIps: string[];
  /** Monotonic time (the `nowMs` clock) of the last completed handshake; undefined if none. */
  lastHandshakeMs: number | undefined;
  /** Bytes of authenticated datagrams received from / sent to the peer (as `wg show transfer`). */
  rxBytes: number;
  txBytes: number;
  persistentKeepaliveSeconds: number;
  hasPresharedKey: boolean;
  /** True while a current session can send (not expired, not exhausted). */
  hasSession: boolean;
  /** Packets waiting for a handshake. */
  stagedPackets: number;
}

export type WireGuardEvent =
  | { type: 'handshake-initiated'; peer: string; endpoint: Endpoint | undefined; attempt: number }
  | { type: 'handshake-completed'; peer: string; endpoint: Endpoint | undefined; role: 'initiator' | 'responder' }
  | { type: 'endpoint-changed'; peer: string; endpoint: Endpoint; previous: Endpoint | undefined }
  | { type: 'handshake-gave-up'; peer: string; attempts: number }
  | { type: 'session-expired'; peer: string }
  | { type: 'keys-zeroed'; peer: string; reason: 'timeout' | 'private-key-changed' };

/** Why a datagram or packet was dropped; every drop increments one of these counters. */
export type DropReason =
  // Parsing of datagrams from the network
  | 'too-short'
  | 'unknown-type'
  | 'bad-size'
  // Handshake messages
  | 'bad-mac1'
  | 'cookie-required'
  | 'rate-limited'
  | 'handshake-failed'
  | 'unknown-peer'
  | 'replayed-timestamp'
  | 'initiation-flood'
  | 'unknown-index'
  | 'unexpected-response'
  | 'bad-cookie-reply'
  | 'handshake-queue-full'
  | 'handshake-queue-stale'
  // Transport messages
  | 'no-keypair'
  | 'expired-keypair'
  | 'counter-limit'
  | 'decrypt-failed'
  | 'replayed-counter'
  | 'bad-inner-packet'
  | 'disallowed-source'
  // Outgoing packets
  | 'not-ip'
  | 'no-route'
  | 'no-endpoint'
  | 'staged-overflow'
  | 'handshake-gave-up'
  // A bug caught at the API boundary (counted, logged, never thrown to the network)
  | 'internal-error';

export const DROP_REASONS: readonly DropReason[] = [
  'too-short', 'unknown-type', 'bad-size', 'bad-mac1', 'cookie-required', 'rate-limited', 'handshake-failed',
  'unknown-peer', 'replayed-timestamp', 'initiation-flood', 'unknown-index', 'unexpected-response',
  'bad-cookie-reply', 'handshake-queue-full', 'handshake-queue-stale', 'no-keypair', 'expired-keypair', 'counter-limit', 'decrypt-failed', 'replayed-counter',
  'bad-inner-packet', 'disallowed-source', 'not-ip', 'no-route', 'no-endpoint', 'staged-overflow',
  'handshake-gave-up', 'internal-error',
];

export interface WireGuardDeviceOptions {
  privateKey: KeyInput;
  /** Called synchronously for every datagram to send; `to` is the peer's current endpoint object. */
  onTransmit(datagram: Uint8Array, to: Endpoint): void;
  /** Called synchronously for every decrypted, source-checked IP packet. */
  onPacket(ipPacket: Uint8Array, peerPublicKey: string): void;
  onEvent?(event: WireGuardEvent): void;
  /** Called when the earliest timer deadline moves earlier (a runner reschedules its one timer). */
  onDeadline?(deadlineMs: number): void;
  logger?: WireGuardLogger;
  /** Randomness for indices, jitter and cookies; defaults to crypto.randomBytes. */
  random?: (length: number) => Uint8Array;
  /** Wall-clock TAI64N source for initiations (12 bytes); inject a monotonic one without an RTC. */
  tai64n?: () => Uint8Array;
  /** Inner MTU used for padding; default 1420. */
  mtu?: number;
  /**
   * Force "under load" (cookie replies required, per-source rate limit) on or off, or decide per
   * message; default: automatic, while valid-mac1 handshake messages without mac2 exceed
   * `underLoadHandshakesPerSecond` or (with `deferHandshakes`) the handshake queue is an eighth
   * full, as wireguard-go, and for 1 s after. Messages carrying mac2 do not count towards the
   * rate: under load every honest handshake takes two messages, and counting the second would
   * hold the load state up by itself.
   */
  underLoad?: boolean | ((nowMs: number) => boolean);
  /** Default 1000. */
  underLoadHandshakesPerSecond?: number;
  /**
   * Queue handshake messages that pass the cheap checks (size, type, mac1; under load mac2 and
   * the rate limit) instead of doing their DH work inside receive(); processHandshakes() runs
   * them. The runner turns this on and drains the queue with a time budget per event-loop turn,
   * so a handshake storm cannot hold transport data back. Default false (synchronous).
   */
  deferHandshakes?: boolean;
  /** Capacity of that queue (default 4096); under load from an eighth full, as wireguard-go. */
  handshakeQueueCapacity?: number;
  /**
   * Message limits, for tests only (rekey/reject after messages cannot be reached in a test run
   * otherwise). Defaults: REKEY_AFTER_MESSAGES and REJECT_AFTER_MESSAGES from constants.
   */
  limits?: { rekeyAfterMessages?: number; rejectAfterMessages?: number };
  /**
   * The ChaCha20-Poly1305 of transport data; default `defaultTransportAead` (libsodium when
   * sodium-native loads, else node:crypto). For tests and benchmarks of either.
   */
  transportAead?: TransportAead;
}
