// Per-peer state: identity, handshake, the previous/current/next keypairs, staged packets, counters
// and the timers of whitepaper §6 (wireguard-go device/timers.go), kept as absolute deadlines with
// the `timers…` hooks that arm and cancel them. The device runs the `expired…` handlers.
import { CookieGenerator } from './cookie.js';
import type { HeapItem } from './deadline-heap.js';
import type { Endpoint } from './endpoint.js';
import { Handshake } from './handshake.js';
import {
  KEEPALIVE_TIMEOUT_MS,
  REJECT_AFTER_TIME_MS,
  REKEY_TIMEOUT_JITTER_MAX_MS,
  REKEY_TIMEOUT_MS,
  ZERO_KEYS_AFTER_MS,
} from './constants.js';
import type { Keypair } from './transport.js';
import type { X25519PublicKey } from './x25519.js';

const NEVER = Infinity;

export class Peer implements HeapItem {
  heapIndex = -1;
  heapDeadlineMs = NEVER;

  readonly handshake: Handshake;
  readonly cookies: CookieGenerator;
  endpoint: Endpoint | undefined;
  persistentKeepaliveMs = 0;
  previous: Keypair | undefined;
  current: Keypair | undefined;
  next: Keypair | undefined;
  /** Packets waiting for a session (an empty packet is a queued keepalive). */
  staged: Uint8Array[] = [];
  rxBytes = 0;
  txBytes = 0;
  lastHandshakeMs: number | undefined;
  removed = false;

  // Timers (absolute ms on the device clock; Infinity = not armed).
  retransmitHandshakeAt = NEVER;
  sendKeepaliveAt = NEVER;
  newHandshakeAt = NEVER;
  zeroKeyMaterialAt = NEVER;
  persistentKeepaliveAt = NEVER;
  /** When the current keypair passes REJECT_AFTER_TIME (for the session-expired event). */
  sessionExpiresAt = NEVER;
  handshakeAttempts = 0;
  needAnotherKeepalive = false;
  sentLastMinuteHandshake = false;

  constructor(
    readonly publicKey: string,
    remoteStatic: Buffer,
    remoteStaticKey: X25519PublicKey,
    presharedKey: Uint8Array | undefined,
    /** Uniform integer in [0, n) for timer jitter. */
    private readonly randomInt: (n: number) => number,
  ) {
    this.handshake = new Handshake(remoteStatic, remoteStaticKey, presharedKey);
    this.cookies = new CookieGenerator(remoteStatic);
  }

  /** The earliest armed timer. */
  nextDeadline(): number {
    return Math.min(
      this.retransmitHandshakeAt,
      this.sendKeepaliveAt,
      this.newHandshakeAt,
      this.zeroKeyMaterialAt,
      this.persistentKeepaliveAt,
      this.sessionExpiresAt,
    );
  }

  private jitterMs(): number {
    return this.randomInt(REKEY_TIMEOUT_JITTER_MAX_MS);
  }

  // ---- timers… hooks (names and rules from wireguard-go device/timers.go) ----

  /** After an authenticated data packet (not a keepalive) was sent. */
  timersDataSent(nowMs: number): void {
    if (this.newHandshakeAt === NEVER) this.newHandshakeAt = nowMs + KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + this.jitterMs();
  }

  /** After an authenticated data packet (not a keepalive) was received. */
  timersDataReceived(nowMs: number): void {
    if (this.sendKeepaliveAt === NEVER) this.sendKeepaliveAt = nowMs + KEEPALIVE_TIMEOUT_MS;
    else this.needAnotherKeepalive = true;
  }

  /** After any authenticated packet (handshake, data, keepalive) was sent. */
  timersAnyAuthenticatedPacketSent(): void {
    this.sendKeepaliveAt = NEVER;
  }

  /** After any authenticated packet was received. */
  timersAnyAuthenticatedPacketReceived(): void {
    this.newHandshakeAt = NEVER;
  }

  /** After an initiation was sent. */
  timersHandshakeInitiated(nowMs: number): void {
    this.retransmitHandshakeAt = nowMs + REKEY_TIMEOUT_MS + this.jitterMs();
  }

  /** After a response was consumed, or the first packet arrived on the `next` keypair. */
  timersHandshakeComplete(nowMs: number): void {
    this.retransmitHandshakeAt = NEVER;
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
    this.lastHandshakeMs = nowMs;
  }

  /** After new session keys were derived (response sent or consumed). */
  timersSessionDerived(nowMs: number): void {
    this.zeroKeyMaterialAt = nowMs + ZERO_KEYS_AFTER_MS;
  }

  /** Before any authenticated packet is sent, or after one is received. */
  timersAnyAuthenticatedPacketTraversal(nowMs: number): void {
    if (this.persistentKeepaliveMs > 0) this.persistentKeepaliveAt = nowMs + this.persistentKeepaliveMs;
  }

  /** Points the session-expired timer at the current keypair. */
  trackCurrentKeypair(): void {
    this.sessionExpiresAt = this.current ? this.current.createdMs + REJECT_AFTER_TIME_MS : NEVER;
  }

  /** True when `current` may still send (age and counter limits). */
  canSend(nowMs: number, rejectAfterMessages: number): boolean {
    const kp = this.current;
    return kp !== undefined && kp.sendCounter < rejectAfterMessages && nowMs - kp.createdMs < REJECT_AFTER_TIME_MS;
  }

  keypairs(): Keypair[] {
    return [this.previous, this.current, this.next].filter((k): k is Keypair => k !== undefined);
  }
}
