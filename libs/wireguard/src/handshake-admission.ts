// What a handshake message must pass before any DH work (whitepaper §5.3; wireguard-go
// device/receive.go RoutineHandshake): mac1, then — under load — mac2 (else a cookie reply) and
// the per-source rate limit; then a bounded queue, so handshakes wait for a budget of their own
// instead of running ahead of transport data. Every check here is cheap and allocates nothing
// for a message that fails it, which is what keeps a flood of valid-mac1 initiations affordable.
import { COOKIE_REPLIES_PER_SECOND, HANDSHAKE_QUEUE_CAPACITY, REKEY_TIMEOUT_MS } from './constants.js';
import { CookieChecker } from './cookie.js';
import { endpointCookieBytes, endpointRateKey, type Endpoint } from './endpoint.js';
import { LoadDetector } from './load-detector.js';
import { readU32LE } from './messages.js';
import { RateLimiter } from './rate-limiter.js';
import type { DropReason } from './types.js';

export type HandshakeKind = 'initiation' | 'response';

export interface QueuedHandshake {
  kind: HandshakeKind;
  msg: Uint8Array;
  from: Endpoint;
  receivedMs: number;
}

export interface HandshakeAdmissionOptions {
  localStatic: Uint8Array;
  random: (n: number) => Uint8Array;
  underLoad: boolean | ((nowMs: number) => boolean) | undefined;
  underLoadHandshakesPerSecond: number | undefined;
  queueCapacity: number | undefined;
  /** Sends a cookie reply. */
  transmit(datagram: Uint8Array, to: Endpoint): void;
}

/** A handshake that waited longer than this is dropped: its initiator has retransmitted by then. */
export const HANDSHAKE_QUEUE_MAX_WAIT_MS = REKEY_TIMEOUT_MS;

const MAC_SIZE = 16;
const ALL_SOURCES = '*';

function hasMac2(msg: Uint8Array): boolean {
  for (let i = msg.length - MAC_SIZE; i < msg.length; i++) if (msg[i] !== 0) return true;
  return false;
}

export class HandshakeAdmission {
  readonly cookieChecker: CookieChecker;
  private readonly load: LoadDetector;
  private readonly rateLimiter = new RateLimiter();
  /**
   * Cookie replies per source address, same bucket as handshakes (20/s, burst 5). Not in
   * wireguard-go: sending a reply was the largest cost per datagram of a flood from one address
   * with rotating ports (a third of the hub's busy time at 20,000/s), and an honest initiator
   * needs one reply per handshake attempt. It also keeps a spoofed-source flood from being
   * reflected at its victim.
   */
  private readonly replyLimiter = new RateLimiter();
  private readonly replyBudget = new RateLimiter(1000 / COOKIE_REPLIES_PER_SECOND, 100);
  private readonly ring: (QueuedHandshake | undefined)[];
  private head = 0;
  private count = 0;

  constructor(private readonly options: HandshakeAdmissionOptions) {
    this.cookieChecker = new CookieChecker(options.localStatic, options.random);
    const capacity = options.queueCapacity ?? HANDSHAKE_QUEUE_CAPACITY;
    this.ring = new Array<QueuedHandshake | undefined>(capacity);
    // As wireguard-go: under load once the handshake queue is an eighth full.
    this.load = new LoadDetector(options.underLoad, options.underLoadHandshakesPerSecond, Math.max(1, capacity >> 3));
  }

  /** Handshake messages waiting for processHandshakes(). */
  get queued(): number {
    return this.count;
  }

  /**
   * The cheap checks, in order of cost: under load, whether the source has any budget left (a map
   * lookup); mac1 (one keyed BLAKE2s); only a message that passes it can start load; under load,
   * mac2 bound to the source (a cookie reply otherwise) and the per-address token bucket. Returns
   * why the message is dropped, or undefined to go on.
   */
  admit(msg: Uint8Array, from: Endpoint, nowMs: number): DropReason | undefined {
    // An all-zero mac2 means "no cookie held" (it matches a real MAC with probability 2^-128).
    const withMac2 = hasMac2(msg);
    const rateKey = endpointRateKey(from);
    // Under load, what can a message earn? Without mac2, a cookie reply at most, and only while its
    // source address has reply budget left (and the hub has); with mac2, a handshake only while the
    // address is within its handshake rate. When none of that is left, every outcome of the checks
    // below is a drop, so the message is dropped before mac1 (a keyed BLAKE2s, the costliest step
    // of a flood datagram): a flood from one address is then a map lookup per datagram, not a MAC.
    // The limiters are only peeked here and spent below on a valid mac1, so junk cannot use up an
    // honest source's budget. Such drops still count towards load (as every queued handshake
    // message does in wireguard-go): otherwise the flood, no longer noted, would end the load state
    // within a second and let its next 1,000 datagrams through to DH work.
    if (this.load.active(nowMs) && !this.mayEarnAnything(rateKey, withMac2, nowMs)) {
      this.load.note(nowMs, this.count, !withMac2);
      return withMac2 ? 'rate-limited' : 'cookie-required';
    }
    if (!this.cookieChecker.checkMac1(msg)) return 'bad-mac1';
    // Only messages without mac2 count towards the message rate: under load an honest initiator's
    // retry carries mac2, and counting it as well would hold the load state up by itself.
    if (!this.load.note(nowMs, this.count, !withMac2)) return undefined;
    const source = withMac2 ? endpointCookieBytes(from) : undefined;
    if (!source || !this.cookieChecker.checkMac2(msg, source, nowMs)) {
      if (this.replyLimiter.allow(rateKey, nowMs) && this.replyBudget.allow(ALL_SOURCES, nowMs)) {
        this.options.transmit(this.cookieChecker.createReply(msg, readU32LE(msg, 4), source ?? endpointCookieBytes(from), nowMs), from);
      }
      return 'cookie-required';
    }
    if (!this.rateLimiter.allow(rateKey, nowMs)) return 'rate-limited';
    return undefined;
  }

  /** Whether a message could still be answered with a cookie reply or, with mac2, be let through. */
  private mayEarnAnything(rateKey: string, withMac2: boolean, nowMs: number): boolean {
    if (this.replyLimiter.peek(rateKey, nowMs) && this.replyBudget.peek(ALL_SOURCES, nowMs)) return true;
    return withMac2 && this.rateLimiter.peek(rateKey, nowMs);
  }

  /** Queues an admitted message (copied: the caller may reuse its buffer); false when full. */
  enqueue(kind: HandshakeKind, msg: Uint8Array, from: Endpoint, nowMs: number): boolean {
    if (this.count === this.ring.length) return false;
    this.ring[(this.head + this.count) % this.ring.length] = { kind, msg: Uint8Array.prototype.slice.call(msg), from, receivedMs: nowMs };
    this.count++;
    return true;
  }

  dequeue(): QueuedHandshake | undefined {
    if (this.count === 0) return undefined;
    const entry = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    return entry;
  }
}
