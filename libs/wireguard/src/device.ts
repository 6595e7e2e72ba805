// The sans-I/O WireGuard device (whitepaper §5–§6; wireguard-go device/ receive.go, send.go,
// timers.go, peer.go): datagrams and IP packets in, datagrams, packets, events and the next timer
// deadline out. Time is always passed in (`nowMs`, monotonic); nothing here reads a clock or sleeps.
import { randomBytes } from 'node:crypto';
import { AllowedIps, readU32BE } from './allowed-ips.js';
import {
  DEFAULT_MTU,
  KEEPALIVE_TIMEOUT_MS,
  MAX_STAGED_PACKETS,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
  REKEY_TIMEOUT_MS,
} from './constants.js';
import { CookieChecker } from './cookie.js';
import { DeadlineHeap } from './deadline-heap.js';
import { endpointCookieBytes, endpointRateKey, formatEndpoint, sameEndpoint, type Endpoint } from './endpoint.js';
import { consumeInitiation, consumeResponse, createInitiation, createResponse, type LocalIdentity } from './handshake.js';
import { encodeKey, keyTag } from './keys.js';
import { LoadDetector } from './load-detector.js';
import { classifyMessage, readU32LE } from './messages.js';
import { identityFrom, keepaliveToMs, toKey, validateAllowedIps } from './peer-config.js';
import { Peer } from './peer.js';
import { RateLimiter } from './rate-limiter.js';
import { SessionTable } from './sessions.js';
import { runExpiredTimers, type TimerActions } from './timers.js';
import { tai64nNow } from './tai64n.js';
import { openTransport, readCounter, sealTransport, trimInnerPacket, type Keypair } from './transport.js';
import {
  DROP_REASONS,
  type DropReason,
  type KeyInput,
  type PeerConfig,
  type PeerStatus,
  type PeerUpdate,
  type WireGuardDeviceOptions,
  type WireGuardEvent,
} from './types.js';
import { importPublicKey } from './x25519.js';

const NEVER = Infinity;

export class WireGuardDevice {
  private identity: LocalIdentity;
  private readonly cookieChecker: CookieChecker;
  private readonly peersByKey = new Map<string, Peer>();
  private readonly sessions: SessionTable;
  private readonly allowedIps = new AllowedIps<Peer>();
  private readonly timers = new DeadlineHeap<Peer>();
  private readonly rateLimiter = new RateLimiter();
  private readonly dropCounts = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  private readonly random: (length: number) => Uint8Array;
  private readonly tai64n: () => Uint8Array;
  private readonly mtu: number;
  private readonly rekeyAfterMessages: number;
  private readonly rejectAfterMessages: number;
  private readonly load: LoadDetector;
  private readonly timerActions: TimerActions = {
    sendHandshakeInitiation: (peer, isRetry, nowMs) => this.sendHandshakeInitiation(peer, isRetry, nowMs),
    sendKeepalive: (peer, nowMs) => this.sendKeepalive(peer, nowMs),
    flushStaged: (peer) => {
      this.dropCounts['handshake-gave-up'] += peer.staged.filter((p) => p.length > 0).length;
      peer.staged = [];
    },
    zeroAndFlushAll: (peer) => this.zeroAndFlushAll(peer, true),
    emit: (event) => this.emit(event),
  };
  private lastNowMs = 0;

  constructor(private readonly options: WireGuardDeviceOptions) {
    this.random = options.random ?? ((n) => randomBytes(n));
    this.tai64n = options.tai64n ?? tai64nNow;
    this.mtu = options.mtu ?? DEFAULT_MTU;
    this.rekeyAfterMessages = options.limits?.rekeyAfterMessages ?? REKEY_AFTER_MESSAGES;
    this.rejectAfterMessages = options.limits?.rejectAfterMessages ?? REJECT_AFTER_MESSAGES;
    this.identity = identityFrom(options.privateKey);
    this.cookieChecker = new CookieChecker(this.identity.publicKey, this.random);
    this.sessions = new SessionTable(this.random);
    this.load = new LoadDetector(options.underLoad, options.underLoadHandshakesPerSecond);
  }

  /** Our public key in `wg` base64 form. */
  get publicKey(): string {
    return encodeKey(this.identity.publicKey);
  }

  /** Counters of everything dropped, by reason. */
  get drops(): Readonly<Record<DropReason, number>> {
    return { ...this.dropCounts };
  }

  // ---- configuration ----------------------------------------------------------------------

  /**
   * Replaces our static key. Every session and pending handshake is discarded (peers must
   * handshake with the new identity; wireguard-go expires them the same way); a peer configured
   * with the new public key itself is removed.
   */
  setPrivateKey(privateKey: KeyInput): void {
    const identity = identityFrom(privateKey);
    this.identity = identity;
    this.cookieChecker.setLocalStatic(identity.publicKey);
    if (this.peersByKey.has(encodeKey(identity.publicKey))) this.removePeer(identity.publicKey);
    for (const peer of this.peersByKey.values()) {
      peer.handshake.forgetStaticStatic();
      this.zeroAndFlushAll(peer, false);
      this.emit({ type: 'keys-zeroed', peer: peer.publicKey, reason: 'private-key-changed' });
    }
  }

  addPeer(config: PeerConfig): PeerStatus {
    const publicKey = toKey(config.publicKey, 'publicKey');
    const b64 = encodeKey(publicKey);
    if (this.peersByKey.has(b64)) throw new Error(`addPeer: ${keyTag(b64)} already exists; use updatePeer`);
    if (Buffer.from(publicKey).equals(this.identity.publicKey)) throw new Error('addPeer: a peer cannot have our own public key');
    const remoteKey = importPublicKey(publicKey);
    if (!remoteKey) throw new Error(`addPeer: ${keyTag(b64)} is not a usable X25519 public key`);
    const psk = config.presharedKey === undefined ? undefined : toKey(config.presharedKey, 'presharedKey');
    validateAllowedIps(config.allowedIps);
    const keepaliveMs = keepaliveToMs(config.persistentKeepaliveSeconds);
    const peer = new Peer(b64, Buffer.from(publicKey), remoteKey, psk, (n) => this.randomInt(n));
    peer.endpoint = config.endpoint;
    this.peersByKey.set(b64, peer);
    for (const cidr of config.allowedIps) this.allowedIps.insert(cidr, peer);
    this.setPersistentKeepalive(peer, keepaliveMs);
    return this.status(peer);
  }

  updatePeer(publicKey: KeyInput, update: PeerUpdate): PeerStatus {
    const peer = this.requirePeer(publicKey, 'updatePeer');
    // Validate everything first: a bad field leaves the peer unchanged.
    if (update.allowedIps) validateAllowedIps(update.allowedIps);
    const psk =
      update.presharedKey === null || update.presharedKey === undefined
        ? update.presharedKey
        : toKey(update.presharedKey, 'presharedKey');
    const keepaliveMs = 'persistentKeepaliveSeconds' in update ? keepaliveToMs(update.persistentKeepaliveSeconds) : undefined;
    if (update.allowedIps) {
      this.allowedIps.removeOwner(peer);
      for (const cidr of update.allowedIps) this.allowedIps.insert(cidr, peer);
    }
    if ('endpoint' in update) peer.endpoint = update.endpoint;
    if (psk !== undefined) peer.handshake.presharedKey = psk ?? undefined;
    if (keepaliveMs !== undefined) this.setPersistentKeepalive(peer, keepaliveMs);
    return this.status(peer);
  }

  removePeer(publicKey: KeyInput): boolean {
    const peer = this.peersByKey.get(encodeKey(toKey(publicKey, 'publicKey')));
    if (!peer) return false;
    this.zeroAndFlushAll(peer, false);
    this.allowedIps.removeOwner(peer);
    this.timers.remove(peer);
    this.peersByKey.delete(peer.publicKey);
    peer.removed = true;
    return true;
  }

  getPeer(publicKey: KeyInput): PeerStatus | undefined {
    const peer = this.peersByKey.get(encodeKey(toKey(publicKey, 'publicKey')));
    return peer && this.status(peer);
  }

  peers(): PeerStatus[] {
    return [...this.peersByKey.values()].map((p) => this.status(p));
  }

  get peerCount(): number {
    return this.peersByKey.size;
  }

  // ---- time ---------------------------------------------------------------------------------

  /** The earliest timer deadline (may be slightly early: calling tick then is harmless). */
  nextDeadline(): number | undefined {
    return this.timers.peekDeadline();
  }

  /** Runs every timer due at `nowMs`. Only peers with due timers are touched. */
  tick(nowMs: number): void {
    this.observe(nowMs);
    try {
      for (let peer = this.timers.popDue(nowMs); peer; peer = this.timers.popDue(nowMs)) {
        if (peer.removed) continue;
        runExpiredTimers(peer, nowMs, this.timerActions);
        this.schedule(peer, nowMs, nowMs + 1); // handlers only arm future timers; the floor guards the loop
      }
    } catch (err) {
      this.internalError('tick', err);
    }
  }

  // ---- outgoing IP packets -------------------------------------------------------------------

  /**
   * Encrypts and transmits an IP packet to the peer whose allowed IPs hold its destination
   * (longest prefix), or queues it and starts a handshake. False when it was dropped. The packet
   * is copied if it has to wait, so the caller may reuse its buffer after the call.
   */
  send(ipPacket: Uint8Array, nowMs: number): boolean {
    this.observe(nowMs);
    try {
      const version = ipPacket.length > 0 ? ipPacket[0]! >> 4 : 0;
      let peer: Peer | undefined;
      if (version === 4 && ipPacket.length >= 20) peer = this.allowedIps.lookupV4(readU32BE(ipPacket, 16));
      else if (version === 6 && ipPacket.length >= 40) peer = this.allowedIps.lookupV6(ipPacket, 24);
      else return this.drop('not-ip');
      if (!peer) return this.drop('no-route');
      if (peer.staged.length === 0 && peer.endpoint && peer.canSend(nowMs, this.rejectAfterMessages)) {
        this.sendOnKeypair(peer, peer.current!, ipPacket, nowMs); // fast path: nothing queued, session ready
        this.keepKeyFreshSending(peer, nowMs);
      } else {
        this.stage(peer, Uint8Array.prototype.slice.call(ipPacket));
        this.sendStagedPackets(peer, nowMs);
      }
      this.schedule(peer, nowMs);
      return true;
    } catch (err) {
      this.internalError('send', err);
      return false;
    }
  }

  // ---- incoming datagrams -------------------------------------------------------------------

  /** Processes one datagram from the network. Never throws; every rejection is counted. */
  receive(datagram: Uint8Array, from: Endpoint, nowMs: number): void {
    this.observe(nowMs);
    try {
      const kind = classifyMessage(datagram);
      switch (kind.kind) {
        case 'transport':
          return this.receiveTransport(datagram, from, nowMs);
        case 'initiation':
        case 'response':
          return this.receiveHandshake(kind.kind, datagram, from, nowMs);
        case 'cookie-reply':
          return this.receiveCookieReply(datagram, nowMs);
        case 'drop':
          this.drop(kind.reason);
      }
    } catch (err) {
      this.internalError('receive', err);
    }
  }

  private receiveTransport(msg: Uint8Array, from: Endpoint, nowMs: number): void {
    const entry = this.sessions.get(readU32LE(msg, 4));
    if (!entry) return void this.drop('unknown-index');
    const { peer, keypair } = entry;
    if (!keypair) return void this.drop('no-keypair');
    if (nowMs - keypair.createdMs >= REJECT_AFTER_TIME_MS) return void this.drop('expired-keypair');
    const counter = readCounter(msg);
    if (counter === undefined) return void this.drop('counter-limit');
    const plain = openTransport(keypair, msg);
    if (!plain) return void this.drop('decrypt-failed');
    // Only authenticated counters may move the window.
    if (!keypair.replay.validateCounter(counter, this.rejectAfterMessages)) return void this.drop('replayed-counter');

    this.setEndpoint(peer, from);
    if (this.sessions.receivedWithKeypair(peer, keypair)) {
      peer.timersHandshakeComplete(nowMs);
      this.emit({ type: 'handshake-completed', peer: peer.publicKey, endpoint: peer.endpoint, role: 'responder' });
      this.sendStagedPackets(peer, nowMs);
    }
    this.keepKeyFreshReceiving(peer, nowMs);
    peer.timersAnyAuthenticatedPacketTraversal(nowMs);
    peer.timersAnyAuthenticatedPacketReceived();
    peer.rxBytes += msg.length;
    if (plain.length === 0) return this.schedule(peer, nowMs); // keepalive
    peer.timersDataReceived(nowMs);
    this.schedule(peer, nowMs);

    const inner = trimInnerPacket(plain);
    if (!inner) return void this.drop('bad-inner-packet');
    // Cryptokey routing, receive side: the inner source must belong to the sending peer.
    const owner =
      inner[0]! >> 4 === 4 ? this.allowedIps.lookupV4(readU32BE(inner, 12)) : this.allowedIps.lookupV6(inner, 8);
    if (owner !== peer) return void this.drop('disallowed-source');
    this.options.onPacket(inner, peer.publicKey);
  }

  private receiveHandshake(kind: 'initiation' | 'response', msg: Uint8Array, from: Endpoint, nowMs: number): void {
    const underLoad = this.load.note(nowMs);
    if (!this.cookieChecker.checkMac1(msg)) return void this.drop('bad-mac1');
    if (underLoad) {
      const source = endpointCookieBytes(from);
      if (!this.cookieChecker.checkMac2(msg, source, nowMs)) {
        this.options.onTransmit(this.cookieChecker.createReply(msg, readU32LE(msg, 4), source, nowMs), from);
        return void this.drop('cookie-required');
      }
      if (!this.rateLimiter.allow(endpointRateKey(from), nowMs)) return void this.drop('rate-limited');
    }

    if (kind === 'initiation') {
      const result = consumeInitiation(this.identity, msg, nowMs, (pub) => {
        const peer = this.peersByKey.get(pub.toString('base64'));
        return peer && { peer, handshake: peer.handshake };
      });
      if (!result.ok) return void this.drop(result.reason);
      const peer = result.peer;
      this.setEndpoint(peer, from);
      peer.timersAnyAuthenticatedPacketTraversal(nowMs);
      peer.timersAnyAuthenticatedPacketReceived();
      peer.rxBytes += msg.length;
      this.sendHandshakeResponse(peer, nowMs);
      return this.schedule(peer, nowMs);
    }

    const result = consumeResponse(this.identity, msg, (index) => {
      const entry = this.sessions.get(index);
      if (!entry || entry.keypair || entry.peer.handshake.localIndex !== index) return undefined;
      return { peer: entry.peer, handshake: entry.peer.handshake };
    });
    if (!result.ok) return void this.drop(result.reason);
    const peer = result.peer;
    this.setEndpoint(peer, from);
    peer.timersAnyAuthenticatedPacketTraversal(nowMs);
    peer.timersAnyAuthenticatedPacketReceived();
    peer.rxBytes += msg.length;
    if (!this.sessions.beginSymmetricSession(peer, nowMs)) return void this.drop('handshake-failed');
    peer.timersSessionDerived(nowMs);
    peer.timersHandshakeComplete(nowMs);
    this.emit({ type: 'handshake-completed', peer: peer.publicKey, endpoint: peer.endpoint, role: 'initiator' });
    // Key confirmation: the initiator must send something now (queued data, else a keepalive).
    this.sendKeepalive(peer, nowMs);
    this.schedule(peer, nowMs);
  }

  private receiveCookieReply(msg: Uint8Array, nowMs: number): void {
    this.load.note(nowMs);
    // The index may name a pending handshake or, after it completed, a keypair.
    const entry = this.sessions.get(readU32LE(msg, 4));
    if (!entry) return void this.drop('unknown-index');
    if (!entry.peer.cookies.consumeReply(msg, nowMs)) return void this.drop('bad-cookie-reply');
    this.log('debug', 'cookie reply accepted; the next handshake carries mac2', entry.peer);
  }

  // ---- sending machinery (wireguard-go send.go) -----------------------------------------------

  private sendHandshakeInitiation(peer: Peer, isRetry: boolean, nowMs: number): void {
    if (!isRetry) peer.handshakeAttempts = 0;
    const hs = peer.handshake;
    if (nowMs - hs.lastSentHandshakeMs < REKEY_TIMEOUT_MS) return; // at most one per REKEY_TIMEOUT
    hs.lastSentHandshakeMs = nowMs;
    if (peer.endpoint) {
      const index = this.sessions.newHandshakeIndex(peer);
      const msg = createInitiation(this.identity, hs, index, this.tai64n());
      if (!msg) {
        this.sessions.release(index);
        this.log('warn', 'peer key yields an all-zero shared secret; no handshake possible', peer);
        return;
      }
      peer.cookies.addMacs(msg, nowMs);
      peer.timersAnyAuthenticatedPacketTraversal(nowMs);
      peer.timersAnyAuthenticatedPacketSent();
      this.emit({ type: 'handshake-initiated', peer: peer.publicKey, endpoint: peer.endpoint, attempt: peer.handshakeAttempts + 1 });
      this.transmit(peer, msg);
    } else {
      // No DH work for a peer we cannot reach; its own initiation may still arrive (hub side).
      this.drop('no-endpoint');
    }
    peer.timersHandshakeInitiated(nowMs);
  }

  private sendHandshakeResponse(peer: Peer, nowMs: number): void {
    const hs = peer.handshake;
    hs.lastSentHandshakeMs = nowMs;
    const index = this.sessions.newHandshakeIndex(peer);
    const msg = createResponse(hs, index);
    if (!msg) {
      this.sessions.release(index);
      return void this.drop('handshake-failed');
    }
    peer.cookies.addMacs(msg, nowMs);
    if (!this.sessions.beginSymmetricSession(peer, nowMs)) return void this.drop('handshake-failed');
    peer.timersSessionDerived(nowMs);
    peer.timersAnyAuthenticatedPacketTraversal(nowMs);
    peer.timersAnyAuthenticatedPacketSent();
    this.transmit(peer, msg);
  }

  private sendKeepalive(peer: Peer, nowMs: number): void {
    if (peer.staged.length === 0) peer.staged.push(EMPTY);
    this.sendStagedPackets(peer, nowMs);
  }

  private stage(peer: Peer, packet: Uint8Array): void {
    if (peer.staged.length >= MAX_STAGED_PACKETS) {
      peer.staged.shift();
      this.drop('staged-overflow');
    }
    peer.staged.push(packet);
  }

  private sendStagedPackets(peer: Peer, nowMs: number): void {
    if (peer.staged.length === 0) return;
    if (!peer.canSend(nowMs, this.rejectAfterMessages)) return this.sendHandshakeInitiation(peer, false, nowMs);
    const keypair = peer.current!;
    const packets = peer.staged;
    peer.staged = [];
    for (const packet of packets) this.sendOnKeypair(peer, keypair, packet, nowMs);
    this.keepKeyFreshSending(peer, nowMs);
  }

  private sendOnKeypair(peer: Peer, keypair: Keypair, packet: Uint8Array, nowMs: number): void {
    const datagram = sealTransport(keypair, packet, keypair.sendCounter++, this.mtu);
    peer.timersAnyAuthenticatedPacketTraversal(nowMs);
    peer.timersAnyAuthenticatedPacketSent();
    this.transmit(peer, datagram);
    if (packet.length > 0) peer.timersDataSent(nowMs);
  }

  private transmit(peer: Peer, datagram: Uint8Array): void {
    const to = peer.endpoint;
    if (!to) return void this.drop('no-endpoint');
    peer.txBytes += datagram.length;
    this.options.onTransmit(datagram, to);
  }

  /** Rekey when the current keypair is old (and ours) or has sent many messages. */
  private keepKeyFreshSending(peer: Peer, nowMs: number): void {
    const kp = peer.current;
    if (!kp) return;
    if (kp.sendCounter > this.rekeyAfterMessages || (kp.isInitiator && nowMs - kp.createdMs > REKEY_AFTER_TIME_MS)) {
      this.sendHandshakeInitiation(peer, false, nowMs);
    }
  }

  /** One "last-minute" handshake if our own session nears REJECT_AFTER_TIME while receiving. */
  private keepKeyFreshReceiving(peer: Peer, nowMs: number): void {
    if (peer.sentLastMinuteHandshake) return;
    const kp = peer.current;
    if (kp && kp.isInitiator && nowMs - kp.createdMs > REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS) {
      peer.sentLastMinuteHandshake = true;
      this.sendHandshakeInitiation(peer, false, nowMs);
    }
  }

  /** Erases every keypair and the handshake of `peer`, and drops what it had queued. */
  private zeroAndFlushAll(peer: Peer, countDrops: boolean): void {
    this.sessions.zeroKeys(peer);
    if (countDrops) this.dropCounts['handshake-gave-up'] += peer.staged.filter((p) => p.length > 0).length;
    peer.staged = [];
    peer.retransmitHandshakeAt = peer.newHandshakeAt = peer.sendKeepaliveAt = peer.zeroKeyMaterialAt = NEVER;
  }

  /** Puts the peer's earliest timer in the heap if it moved earlier (later ones wake it early). */
  private schedule(peer: Peer, _nowMs: number, floorMs = -Infinity): void {
    if (peer.removed) return;
    const deadline = Math.max(peer.nextDeadline(), floorMs);
    if (deadline === NEVER) return;
    if (peer.heapIndex >= 0 && deadline >= peer.heapDeadlineMs) return;
    const before = this.timers.peekDeadline();
    this.timers.schedule(peer, deadline);
    if (before === undefined || deadline < before) this.options.onDeadline?.(deadline);
  }

  private setPersistentKeepalive(peer: Peer, keepaliveMs: number): void {
    const wasOff = peer.persistentKeepaliveMs === 0;
    peer.persistentKeepaliveMs = keepaliveMs;
    // Turning it on sends a keepalive at once (wireguard-go does the same), so a peer behind NAT
    // brings its tunnel up by itself; the runner's timer fires at the current time.
    if (keepaliveMs === 0) peer.persistentKeepaliveAt = NEVER;
    else if (wasOff) peer.persistentKeepaliveAt = this.lastNowMs;
    this.schedule(peer, this.lastNowMs);
  }

  // ---- helpers -----------------------------------------------------------------------------

  private setEndpoint(peer: Peer, from: Endpoint): void {
    const previous = peer.endpoint;
    peer.endpoint = from; // keep the object itself: a transport may hang connection state on it
    if (!sameEndpoint(previous, from)) {
      this.log('debug', `endpoint now ${formatEndpoint(from)}`, peer);
      this.emit({ type: 'endpoint-changed', peer: peer.publicKey, endpoint: from, previous });
    }
  }

  private status(peer: Peer): PeerStatus {
    return {
      publicKey: peer.publicKey,
      endpoint: peer.endpoint,
      allowedIps: this.allowedIps.prefixesOf(peer),
      lastHandshakeMs: peer.lastHandshakeMs,
      rxBytes: peer.rxBytes,
      txBytes: peer.txBytes,
      persistentKeepaliveSeconds: peer.persistentKeepaliveMs / 1000,
      hasPresharedKey: peer.handshake.presharedKey !== undefined,
      hasSession: peer.canSend(this.lastNowMs, this.rejectAfterMessages),
      stagedPackets: peer.staged.filter((p) => p.length > 0).length,
    };
  }

  private requirePeer(publicKey: KeyInput, operation: string): Peer {
    const b64 = encodeKey(toKey(publicKey, 'publicKey'));
    const peer = this.peersByKey.get(b64);
    if (!peer) throw new Error(`${operation}: no peer ${keyTag(b64)}`);
    return peer;
  }

  private observe(nowMs: number): void {
    if (nowMs > this.lastNowMs) this.lastNowMs = nowMs;
  }

  private randomInt(n: number): number {
    return readU32LE(this.random(4), 0) % n;
  }

  private drop(reason: DropReason): false {
    this.dropCounts[reason]++;
    return false;
  }

  private emit(event: WireGuardEvent): void {
    this.options.onEvent?.(event);
  }

  private log(level: 'debug' | 'info' | 'warn', message: string, peer?: Peer, fields?: Record<string, unknown>): void {
    const logger = this.options.logger?.[level];
    if (logger) logger.call(this.options.logger, message, { component: 'wireguard', ...(peer ? { peer: keyTag(peer.publicKey) } : {}), ...fields });
  }

  private internalError(where: string, err: unknown): void {
    this.dropCounts['internal-error']++;
    this.log('warn', `internal error in ${where}: ${(err as Error)?.message ?? String(err)}`);
  }
}

const EMPTY = new Uint8Array(0);
