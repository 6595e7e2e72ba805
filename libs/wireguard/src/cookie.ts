// mac1/mac2 and the cookie mechanism (whitepaper §5.3, §5.4.4, §5.4.7; wireguard-go device/cookie.go).
// CookieChecker is the receiving side (verifies macs, answers with cookie replies under load);
// CookieGenerator is kept per peer for what we send to it (adds macs, stores the cookie it sends us).
import { COOKIE_NONCE_SIZE, COOKIE_REFRESH_TIME_MS, LABEL_COOKIE, LABEL_MAC1, MESSAGE_COOKIE_REPLY_TYPE } from './constants.js';
import { COOKIE_REPLY, newMessage, writeU32LE } from './messages.js';
import { equalBytes, hash, mac, macWith, prepareMacKey, xaeadOpen, xaeadSeal, type MacKey } from './primitives.js';

const MAC_SIZE = 16;
const LABEL_MAC1_BYTES = Buffer.from(LABEL_MAC1, 'ascii');
const LABEL_COOKIE_BYTES = Buffer.from(LABEL_COOKIE, 'ascii');

/** HASH(LABEL_MAC1 ‖ static public key of the message's receiver). */
export function mac1Key(receiverStatic: Uint8Array): Buffer {
  return hash(LABEL_MAC1_BYTES, receiverStatic);
}

/** HASH(LABEL_COOKIE ‖ static public key of the cookie's sender): the XAEAD key of cookie replies. */
export function cookieKey(responderStatic: Uint8Array): Buffer {
  return hash(LABEL_COOKIE_BYTES, responderStatic);
}

export class CookieChecker {
  private mac1Key!: MacKey;
  private encryptionKey!: Buffer;
  private secret: MacKey = prepareMacKey(new Uint8Array(32));
  private secretSetMs = -Infinity;
  /** Scratch for the macs computed per received message (the flood path allocates nothing). */
  private readonly scratch = new Uint8Array(MAC_SIZE);
  private readonly cookieScratch = new Uint8Array(MAC_SIZE);

  constructor(
    localStatic: Uint8Array,
    private readonly random: (n: number) => Uint8Array,
  ) {
    this.setLocalStatic(localStatic);
  }

  /** After a private key change: macs are keyed by our public key. */
  setLocalStatic(localStatic: Uint8Array): void {
    this.mac1Key = prepareMacKey(mac1Key(localStatic));
    this.encryptionKey = cookieKey(localStatic);
  }

  /** mac1 over everything before it; cheap, so it runs before any DH work. */
  checkMac1(msg: Uint8Array): boolean {
    const mac1At = msg.length - 2 * MAC_SIZE;
    const expected = macWith(this.mac1Key, msg.subarray(0, mac1At), this.scratch);
    return equalBytes(expected, msg.subarray(mac1At, mac1At + MAC_SIZE));
  }

  /** mac2 must be MAC(cookie for this source, msg up to mac2); false once the secret is stale. */
  checkMac2(msg: Uint8Array, source: Uint8Array, nowMs: number): boolean {
    if (nowMs - this.secretSetMs > COOKIE_REFRESH_TIME_MS) return false;
    const cookie = macWith(this.secret, source, this.cookieScratch);
    const mac2At = msg.length - MAC_SIZE;
    return equalBytes(mac(cookie, msg.subarray(0, mac2At)), msg.subarray(mac2At));
  }

  // Nonces come from a pool refilled 4 KiB at a time: one CSPRNG call per ~170 cookie replies.
  private noncePool: Uint8Array = new Uint8Array(0);
  private nonceAt = 0;
  private nonce(): Uint8Array {
    if (this.nonceAt + COOKIE_NONCE_SIZE > this.noncePool.length) {
      this.noncePool = this.random(COOKIE_NONCE_SIZE * 170);
      this.nonceAt = 0;
    }
    const nonce = this.noncePool.subarray(this.nonceAt, this.nonceAt + COOKIE_NONCE_SIZE);
    this.nonceAt += COOKIE_NONCE_SIZE;
    return nonce;
  }

  /** A cookie reply to `msg` (whose sender index is `receiverIndex`), bound to `source`. */
  createReply(msg: Uint8Array, receiverIndex: number, source: Uint8Array, nowMs: number): Buffer {
    if (nowMs - this.secretSetMs > COOKIE_REFRESH_TIME_MS) {
      // Lazy rotation every COOKIE_REFRESH_TIME: old cookies stop validating after two minutes.
      this.secret = prepareMacKey(this.random(32));
      this.secretSetMs = nowMs;
    }
    const cookie = macWith(this.secret, source, this.cookieScratch);
    const mac1At = msg.length - 2 * MAC_SIZE;
    const reply = newMessage(MESSAGE_COOKIE_REPLY_TYPE, 64);
    writeU32LE(reply, COOKIE_REPLY.receiver, receiverIndex);
    const nonce = this.nonce();
    reply.set(nonce, COOKIE_REPLY.nonce);
    reply.set(xaeadSeal(this.encryptionKey, nonce, cookie, msg.subarray(mac1At, mac1At + MAC_SIZE)), COOKIE_REPLY.cookie);
    return reply;
  }
}

export class CookieGenerator {
  private readonly mac1Key: MacKey;
  private readonly encryptionKey: Buffer;
  private cookie: Uint8Array | undefined;
  private cookieSetMs = -Infinity;
  private lastMac1: Uint8Array | undefined;

  constructor(remoteStatic: Uint8Array) {
    this.mac1Key = prepareMacKey(mac1Key(remoteStatic));
    this.encryptionKey = cookieKey(remoteStatic);
  }

  /** True while a cookie from the peer is fresh enough to be used for mac2. */
  hasFreshCookie(nowMs: number): boolean {
    return this.cookie !== undefined && nowMs - this.cookieSetMs <= COOKIE_REFRESH_TIME_MS;
  }

  /** Fills mac1 (remembered to open a cookie reply) and mac2 (zeros unless a fresh cookie is held). */
  addMacs(msg: Uint8Array, nowMs: number): void {
    const mac1At = msg.length - 2 * MAC_SIZE;
    const mac2At = msg.length - MAC_SIZE;
    const mac1 = macWith(this.mac1Key, msg.subarray(0, mac1At));
    msg.set(mac1, mac1At);
    this.lastMac1 = mac1;
    if (this.cookie && this.hasFreshCookie(nowMs)) msg.set(mac(this.cookie, msg.subarray(0, mac2At)), mac2At);
    else msg.fill(0, mac2At);
  }

  /** Opens a cookie reply with the last mac1 sent as AD; false (no state change) if it fails. */
  consumeReply(reply: Uint8Array, nowMs: number): boolean {
    if (!this.lastMac1) return false;
    const nonce = reply.subarray(COOKIE_REPLY.nonce, COOKIE_REPLY.cookie);
    const cookie = xaeadOpen(this.encryptionKey, nonce, reply.subarray(COOKIE_REPLY.cookie), this.lastMac1);
    if (!cookie) return false;
    this.cookie = cookie;
    this.cookieSetMs = nowMs;
    this.lastMac1 = undefined; // one reply per message sent, as wireguard-go
    return true;
  }
}
