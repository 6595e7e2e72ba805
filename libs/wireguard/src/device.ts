// The sans-I/O WireGuard device (whitepaper §5–§6; wireguard-go device/ device.go, receive.go,
// timers.go): datagrams and IP packets in, datagrams, packets, events and the next timer deadline
// out. Time is always passed in (`nowMs`, monotonic); nothing here reads a clock or sleeps. This
// file holds the API and the receive side; device-core.ts the state and the send side.
import { readU32BE } from './allowed-ips.js';
import { REJECT_AFTER_TIME_MS } from './constants.js';
import { DeviceCore } from './device-core.js';
import type { Endpoint } from './endpoint.js';
import { consumeInitiation, consumeResponse } from './handshake.js';
import { HANDSHAKE_QUEUE_MAX_WAIT_MS, type HandshakeKind } from './handshake-admission.js';
import { encodeKey, keyTag } from './keys.js';
import { classifyMessage, readU32LE } from './messages.js';
import { identityFrom, keepaliveToMs, toKey, validateAllowedIps } from './peer-config.js';
import { Peer } from './peer.js';
import { runExpiredTimers } from './timers.js';
import { openTransport, readCounter, trimInnerPacket } from './transport.js';
import type { KeyInput, PeerConfig, PeerStatus, PeerUpdate } from './types.js';
import { importPublicKey } from './x25519.js';

export class WireGuardDevice extends DeviceCore {
  // ---- configuration ----------------------------------------------------------------------

  /**
   * Replaces our static key. Every session and pending handshake is discarded (peers must
   * handshake with the new identity; wireguard-go expires them the same way); a peer configured
   * with the new public key itself is removed.
   */
  setPrivateKey(privateKey: KeyInput): void {
    const identity = identityFrom(privateKey);
    this.identity = identity;
    this.admission.cookieChecker.setLocalStatic(identity.publicKey);
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

  /**
   * The peer's last handshake (ms on the device's clock; undefined: none, or no such peer) without
   * building a PeerStatus: checks that visit every online device every few seconds (a hub's
   * presence events) call it 15,000 times a second at 30,000 devices.
   */
  lastHandshakeOf(publicKey: string): number | undefined {
    const peer = this.peersByKey.get(publicKey) ?? this.peersByKey.get(encodeKey(toKey(publicKey, 'publicKey')));
    return peer?.lastHandshakeMs;
  }

  peers(): PeerStatus[] {
    return [...this.peersByKey.values()].map((p) => this.status(p));
  }

  get peerCount(): number {
    return this.peersByKey.size;
  }

  /**
   * Peers with a session that can send now (PeerStatus.hasSession), counted without building a
   * PeerStatus each: at 30,000 peers, building them all took ~65 ms of the event loop and ~10 MB
   * (measured), and a /metrics scrape did that to count them.
   */
  get sessionCount(): number {
    let count = 0;
    for (const peer of this.peersByKey.values()) if (peer.canSend(this.lastNowMs, this.rejectAfterMessages)) count++;
    return count;
  }

  /**
   * Every peer's endpoint, last handshake and traffic, without building a PeerStatus each: a hub
   * writing back the status of 30,000 peers every few seconds needs only these.
   */
  forEachPeerActivity(visit: (publicKey: string, endpoint: Endpoint | undefined, lastHandshakeMs: number | undefined, rxBytes: number, txBytes: number) => void): void {
    for (const peer of this.peersByKey.values()) visit(peer.publicKey, peer.endpoint, peer.lastHandshakeMs, peer.rxBytes, peer.txBytes);
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

  protected receiveTransport(msg: Uint8Array, from: Endpoint, nowMs: number): void {
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

  protected receiveHandshake(kind: HandshakeKind, msg: Uint8Array, from: Endpoint, nowMs: number): void {
    const rejected = this.admission.admit(msg, from, nowMs);
    if (rejected) return void this.drop(rejected);
    if (!this.deferHandshakes) return this.consumeHandshake(kind, msg, from, nowMs);
    if (!this.admission.enqueue(kind, msg, from, nowMs)) this.drop('handshake-queue-full');
  }

  /** Handshake messages waiting for processHandshakes() (with `deferHandshakes`). */
  get pendingHandshakes(): number {
    return this.admission.queued;
  }

  /**
   * Does the DH work of up to `max` queued handshake messages, oldest first; returns how many it
   * took off the queue. Messages that waited past REKEY_TIMEOUT are dropped unprocessed: their
   * initiator has sent a new one by then. Never throws.
   */
  processHandshakes(nowMs: number, max = Infinity): number {
    this.observe(nowMs);
    let taken = 0;
    try {
      for (; taken < max; taken++) {
        const entry = this.admission.dequeue();
        if (!entry) break;
        if (nowMs - entry.receivedMs > HANDSHAKE_QUEUE_MAX_WAIT_MS) this.drop('handshake-queue-stale');
        else this.consumeHandshake(entry.kind, entry.msg, entry.from, nowMs);
      }
    } catch (err) {
      this.internalError('processHandshakes', err);
    }
    return taken;
  }

  /** A handshake message from `peer` passed its checks: roam to where it came from, count it, feed the timers. */
  private authenticatedHandshakeFrom(peer: Peer, from: Endpoint, msg: Uint8Array, nowMs: number): void {
    this.setEndpoint(peer, from);
    peer.timersAnyAuthenticatedPacketTraversal(nowMs);
    peer.timersAnyAuthenticatedPacketReceived();
    peer.rxBytes += msg.length;
  }

  protected consumeHandshake(kind: HandshakeKind, msg: Uint8Array, from: Endpoint, nowMs: number): void {
    if (kind === 'initiation') {
      const result = consumeInitiation(this.identity, msg, nowMs, (pub) => {
        const peer = this.peersByKey.get(pub.toString('base64'));
        return peer && { peer, handshake: peer.handshake };
      });
      if (!result.ok) return void this.drop(result.reason);
      const peer = result.peer;
      this.authenticatedHandshakeFrom(peer, from, msg, nowMs);
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
    this.authenticatedHandshakeFrom(peer, from, msg, nowMs);
    if (!this.sessions.beginSymmetricSession(peer, nowMs)) return void this.drop('handshake-failed');
    peer.timersSessionDerived(nowMs);
    peer.timersHandshakeComplete(nowMs);
    this.emit({ type: 'handshake-completed', peer: peer.publicKey, endpoint: peer.endpoint, role: 'initiator' });
    // Key confirmation: the initiator must send something now (queued data, else a keepalive).
    this.sendKeepalive(peer, nowMs);
    this.schedule(peer, nowMs);
  }

  protected receiveCookieReply(msg: Uint8Array, nowMs: number): void {
    // The index may name a pending handshake or, after it completed, a keypair.
    const entry = this.sessions.get(readU32LE(msg, 4));
    if (!entry) return void this.drop('unknown-index');
    if (!entry.peer.cookies.consumeReply(msg, nowMs)) return void this.drop('bad-cookie-reply');
    this.log('debug', 'cookie reply accepted; the next handshake carries mac2', entry.peer);
  }

}
