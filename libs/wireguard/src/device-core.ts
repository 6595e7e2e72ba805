// The state of a WireGuardDevice and its send side (wireguard-go device/send.go, peer.go): staging,
// handshake initiations and responses, transport sealing, keeping keys fresh, timer scheduling and
// the helpers the receive side (device.ts) shares.
import { AllowedIps } from './allowed-ips.js';
import {
  DEFAULT_MTU,
  KEEPALIVE_TIMEOUT_MS,
  MAX_STAGED_PACKETS,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
  REKEY_TIMEOUT_MS,
  UNDER_LOAD_HANDSHAKES_PER_SECOND,
} from './constants.js';
import { DeadlineHeap } from './deadline-heap.js';
import { formatEndpoint, sameEndpoint, type Endpoint } from './endpoint.js';
import { createInitiation, createResponse, type LocalIdentity } from './handshake.js';
import { HandshakeAdmission } from './handshake-admission.js';
import { encodeKey, keyTag } from './keys.js';
import { readU32LE } from './messages.js';
import { pooledRandomBytes } from './random-pool.js';
import { identityFrom, toKey } from './peer-config.js';
import type { Peer } from './peer.js';
import { SessionTable } from './sessions.js';
import type { TimerActions } from './timers.js';
import { tai64nNow } from './tai64n.js';
import { sealTransport, type Keypair } from './transport.js';
import {
  DROP_REASONS,
  type DropReason,
  type KeyInput,
  type PeerStatus,
  type WireGuardDeviceOptions,
  type WireGuardEvent,
} from './types.js';

const NEVER = Infinity;

export abstract class DeviceCore {
  protected identity: LocalIdentity;
  protected readonly admission: HandshakeAdmission;
  protected readonly deferHandshakes: boolean;
  protected readonly peersByKey = new Map<string, Peer>();
  protected readonly sessions: SessionTable;
  protected readonly allowedIps = new AllowedIps<Peer>();
  protected readonly timers = new DeadlineHeap<Peer>();
  protected readonly dropCounts = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  protected readonly random: (length: number) => Uint8Array;
  protected readonly tai64n: () => Uint8Array;
  protected readonly mtu: number;
  protected readonly rekeyAfterMessages: number;
  protected readonly rejectAfterMessages: number;
  protected readonly timerActions: TimerActions = {
    sendHandshakeInitiation: (peer, isRetry, nowMs) => this.sendHandshakeInitiation(peer, isRetry, nowMs),
    sendKeepalive: (peer, nowMs) => this.sendKeepalive(peer, nowMs),
    flushStaged: (peer) => {
      this.dropCounts['handshake-gave-up'] += peer.staged.filter((p) => p.length > 0).length;
      peer.staged = [];
    },
    zeroAndFlushAll: (peer) => this.zeroAndFlushAll(peer, true),
    emit: (event) => this.emit(event),
  };
  protected lastNowMs = 0;

  constructor(protected readonly options: WireGuardDeviceOptions) {
    this.random = options.random ?? pooledRandomBytes;
    this.tai64n = options.tai64n ?? tai64nNow;
    this.mtu = options.mtu ?? DEFAULT_MTU;
    this.rekeyAfterMessages = options.limits?.rekeyAfterMessages ?? REKEY_AFTER_MESSAGES;
    this.rejectAfterMessages = options.limits?.rejectAfterMessages ?? REJECT_AFTER_MESSAGES;
    this.identity = identityFrom(options.privateKey);
    this.sessions = new SessionTable(this.random, options.transportAead);
    this.deferHandshakes = options.deferHandshakes ?? false;
    this.admission = new HandshakeAdmission({
      localStatic: this.identity.publicKey,
      random: this.random,
      underLoad: options.underLoad,
      underLoadHandshakesPerSecond: options.underLoadHandshakesPerSecond ?? UNDER_LOAD_HANDSHAKES_PER_SECOND,
      queueCapacity: options.handshakeQueueCapacity,
      transmit: (datagram, to) => options.onTransmit(datagram, to),
    });
  }

  /** Our public key in `wg` base64 form. */
  get publicKey(): string {
    return encodeKey(this.identity.publicKey);
  }

  /** Counters of everything dropped, by reason. */
  get drops(): Readonly<Record<DropReason, number>> {
    return { ...this.dropCounts };
  }

  // ---- sending machinery (wireguard-go send.go) -----------------------------------------------

  protected sendHandshakeInitiation(peer: Peer, isRetry: boolean, nowMs: number): void {
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

  protected sendHandshakeResponse(peer: Peer, nowMs: number): void {
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

  protected sendKeepalive(peer: Peer, nowMs: number): void {
    if (peer.staged.length === 0) peer.staged.push(EMPTY);
    this.sendStagedPackets(peer, nowMs);
  }

  protected stage(peer: Peer, packet: Uint8Array): void {
    if (peer.staged.length >= MAX_STAGED_PACKETS) {
      peer.staged.shift();
      this.drop('staged-overflow');
    }
    peer.staged.push(packet);
  }

  protected sendStagedPackets(peer: Peer, nowMs: number): void {
    if (peer.staged.length === 0) return;
    if (!peer.canSend(nowMs, this.rejectAfterMessages)) return this.sendHandshakeInitiation(peer, false, nowMs);
    const keypair = peer.current!;
    const packets = peer.staged;
    peer.staged = [];
    for (const packet of packets) this.sendOnKeypair(peer, keypair, packet, nowMs);
    this.keepKeyFreshSending(peer, nowMs);
  }

  protected sendOnKeypair(peer: Peer, keypair: Keypair, packet: Uint8Array, nowMs: number): void {
    const datagram = sealTransport(keypair, packet, keypair.sendCounter++, this.mtu);
    peer.timersAnyAuthenticatedPacketTraversal(nowMs);
    peer.timersAnyAuthenticatedPacketSent();
    this.transmit(peer, datagram);
    if (packet.length > 0) peer.timersDataSent(nowMs);
  }

  protected transmit(peer: Peer, datagram: Uint8Array): void {
    const to = peer.endpoint;
    if (!to) return void this.drop('no-endpoint');
    peer.txBytes += datagram.length;
    this.options.onTransmit(datagram, to);
  }

  /** Rekey when the current keypair is old (and ours) or has sent many messages. */
  protected keepKeyFreshSending(peer: Peer, nowMs: number): void {
    const kp = peer.current;
    if (!kp) return;
    if (kp.sendCounter > this.rekeyAfterMessages || (kp.isInitiator && nowMs - kp.createdMs > REKEY_AFTER_TIME_MS)) {
      this.sendHandshakeInitiation(peer, false, nowMs);
    }
  }

  /** One "last-minute" handshake if our own session nears REJECT_AFTER_TIME while receiving. */
  protected keepKeyFreshReceiving(peer: Peer, nowMs: number): void {
    if (peer.sentLastMinuteHandshake) return;
    const kp = peer.current;
    if (kp && kp.isInitiator && nowMs - kp.createdMs > REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS) {
      peer.sentLastMinuteHandshake = true;
      this.sendHandshakeInitiation(peer, false, nowMs);
    }
  }

  /** Erases every keypair and the handshake of `peer`, and drops what it had queued. */
  protected zeroAndFlushAll(peer: Peer, countDrops: boolean): void {
    this.sessions.zeroKeys(peer);
    if (countDrops) this.dropCounts['handshake-gave-up'] += peer.staged.filter((p) => p.length > 0).length;
    peer.staged = [];
    peer.retransmitHandshakeAt = peer.newHandshakeAt = peer.sendKeepaliveAt = peer.zeroKeyMaterialAt = NEVER;
  }

  /** Puts the peer's earliest timer in the heap if it moved earlier (later ones wake it early). */
  protected schedule(peer: Peer, _nowMs: number, floorMs = -Infinity): void {
    if (peer.removed) return;
    const deadline = Math.max(peer.nextDeadline(), floorMs);
    if (deadline === NEVER) return;
    if (peer.heapIndex >= 0 && deadline >= peer.heapDeadlineMs) return;
    const before = this.timers.peekDeadline();
    this.timers.schedule(peer, deadline);
    if (before === undefined || deadline < before) this.options.onDeadline?.(deadline);
  }

  protected setPersistentKeepalive(peer: Peer, keepaliveMs: number): void {
    const wasOff = peer.persistentKeepaliveMs === 0;
    peer.persistentKeepaliveMs = keepaliveMs;
    // Turning it on sends a keepalive at once (wireguard-go does the same), so a peer behind NAT
    // brings its tunnel up by itself; the runner's timer fires at the current time.
    if (keepaliveMs === 0) peer.persistentKeepaliveAt = NEVER;
    else if (wasOff) peer.persistentKeepaliveAt = this.lastNowMs;
    this.schedule(peer, this.lastNowMs);
  }

  // ---- helpers -----------------------------------------------------------------------------

  protected setEndpoint(peer: Peer, from: Endpoint): void {
    const previous = peer.endpoint;
    if (sameEndpoint(previous, from)) {
      // Plain UDP names a place and nothing more: the object held already serves. Taking each
      // datagram's new one made every keepalive leave an object behind on a long-lived peer, to be
      // promoted and later marked (30,000 devices: ~1,400 a second). Other carriers hang their
      // connection on the object: the newest is the live one.
      if ((from.transport ?? 'udp') !== 'udp') peer.endpoint = from;
      return;
    }
    peer.endpoint = from; // keep the object itself: a transport may hang connection state on it
    this.log('debug', `endpoint now ${formatEndpoint(from)}`, peer);
    this.emit({ type: 'endpoint-changed', peer: peer.publicKey, endpoint: from, previous });
  }

  protected status(peer: Peer): PeerStatus {
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

  protected requirePeer(publicKey: KeyInput, operation: string): Peer {
    const b64 = encodeKey(toKey(publicKey, 'publicKey'));
    const peer = this.peersByKey.get(b64);
    if (!peer) throw new Error(`${operation}: no peer ${keyTag(b64)}`);
    return peer;
  }

  protected observe(nowMs: number): void {
    if (nowMs > this.lastNowMs) this.lastNowMs = nowMs;
  }

  protected randomInt(n: number): number {
    return readU32LE(this.random(4), 0) % n;
  }

  protected drop(reason: DropReason): false {
    this.dropCounts[reason]++;
    return false;
  }

  protected emit(event: WireGuardEvent): void {
    this.options.onEvent?.(event);
  }

  protected log(level: 'debug' | 'info' | 'warn', message: string, peer?: Peer, fields?: Record<string, unknown>): void {
    const logger = this.options.logger?.[level];
    if (logger) logger.call(this.options.logger, message, { component: 'wireguard', ...(peer ? { peer: keyTag(peer.publicKey) } : {}), ...fields });
  }

  protected internalError(where: string, err: unknown): void {
    this.dropCounts['internal-error']++;
    this.log('warn', `internal error in ${where}: ${(err as Error)?.message ?? String(err)}`);
  }
}

const EMPTY = new Uint8Array(0);
