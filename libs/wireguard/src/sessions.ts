// The index table and keypair rotation (wireguard-go device/indextable.go, noise-protocol.go
// BeginSymmetricSession, peer.go ReceivedWithKeypair): our random 32-bit indices name either a
// pending handshake or a keypair, and each peer holds previous/current/next keypairs.
import { deriveSessionKeys } from './handshake.js';
import { readU32LE } from './messages.js';
import type { Peer } from './peer.js';
import type { TransportAead } from './aead.js';
import { Keypair } from './transport.js';

export interface IndexEntry {
  peer: Peer;
  /** Undefined while the index names the peer's pending handshake. */
  keypair?: Keypair;
}

export class SessionTable {
  private readonly entries = new Map<number, IndexEntry>();

  constructor(
    private readonly random: (length: number) => Uint8Array,
    private readonly aead?: TransportAead,
  ) {}

  get(index: number): IndexEntry | undefined {
    return this.entries.get(index);
  }

  /** A fresh non-zero index for the peer's next handshake message (its old one is released). */
  newHandshakeIndex(peer: Peer): number {
    this.deleteHandshakeIndex(peer);
    for (;;) {
      const index = readU32LE(this.random(4), 0);
      if (index !== 0 && !this.entries.has(index)) {
        this.entries.set(index, { peer });
        return index;
      }
    }
  }

  /** Releases an index that was allocated but not used in a message. */
  release(index: number): void {
    const entry = this.entries.get(index);
    if (entry && !entry.keypair) this.entries.delete(index);
  }

  deleteHandshakeIndex(peer: Peer): void {
    const index = peer.handshake.localIndex;
    const entry = this.entries.get(index);
    if (entry && !entry.keypair && entry.peer === peer) this.entries.delete(index);
  }

  deleteKeypair(kp: Keypair | undefined): void {
    if (kp && this.entries.get(kp.localIndex)?.keypair === kp) this.entries.delete(kp.localIndex);
  }

  /**
   * Derives the session of a completed handshake and slots it in: as initiator it becomes
   * `current` at once; as responder it waits in `next` until the initiator's first packet.
   */
  beginSymmetricSession(peer: Peer, nowMs: number): boolean {
    const keys = deriveSessionKeys(peer.handshake);
    if (!keys) return false;
    const kp = new Keypair(keys.sendKey, keys.receiveKey, keys.isInitiator, nowMs, keys.localIndex, keys.remoteIndex, this.aead);
    this.entries.set(kp.localIndex, { peer, keypair: kp }); // the handshake's index now names the keypair
    if (kp.isInitiator) {
      // An unconfirmed `next` is older than this session: it becomes previous, current is dropped.
      this.deleteKeypair(peer.previous);
      if (peer.next) {
        peer.previous = peer.next;
        peer.next = undefined;
        this.deleteKeypair(peer.current);
      } else {
        peer.previous = peer.current;
      }
      peer.current = kp;
      peer.trackCurrentKeypair();
    } else {
      // Responder: never used for sending until the initiator confirms it with a first packet.
      this.deleteKeypair(peer.next);
      peer.next = kp;
      this.deleteKeypair(peer.previous);
      peer.previous = undefined;
    }
    return true;
  }

  /** Rotates `next` in when the first packet authenticates under it; true if that happened. */
  receivedWithKeypair(peer: Peer, kp: Keypair): boolean {
    if (peer.next !== kp) return false;
    this.deleteKeypair(peer.previous);
    peer.previous = peer.current;
    peer.current = kp;
    peer.next = undefined;
    peer.trackCurrentKeypair();
    return true;
  }

  /** Forgets every keypair and the pending handshake of `peer`. */
  zeroKeys(peer: Peer): void {
    for (const kp of peer.keypairs()) this.deleteKeypair(kp);
    peer.previous = peer.current = peer.next = undefined;
    this.deleteHandshakeIndex(peer);
    peer.handshake.clear();
    peer.handshake.lastSentHandshakeMs = -Infinity;
    peer.trackCurrentKeypair();
  }
}
