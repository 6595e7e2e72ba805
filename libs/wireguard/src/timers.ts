// The `expired…` timer handlers of whitepaper §6 (wireguard-go device/timers.go). The `timers…`
// hooks that arm them live on Peer; the device runs these handlers from tick() for due peers only.
import { KEEPALIVE_TIMEOUT_MS, MAX_TIMER_HANDSHAKES, ZERO_KEYS_AFTER_MS } from './constants.js';
import type { Peer } from './peer.js';
import type { WireGuardEvent } from './types.js';

/** What a timer may do to the device. */
export interface TimerActions {
  sendHandshakeInitiation(peer: Peer, isRetry: boolean, nowMs: number): void;
  sendKeepalive(peer: Peer, nowMs: number): void;
  /** Drops every staged packet (counted). */
  flushStaged(peer: Peer): void;
  zeroAndFlushAll(peer: Peer): void;
  emit(event: WireGuardEvent): void;
}

const NEVER = Infinity;

/** Runs every handler whose timer is due; each disarms its timer first and only re-arms it later. */
export function runExpiredTimers(peer: Peer, nowMs: number, act: TimerActions): void {
  if (peer.retransmitHandshakeAt <= nowMs) {
    peer.retransmitHandshakeAt = NEVER;
    expiredRetransmitHandshake(peer, nowMs, act);
  }
  if (peer.sendKeepaliveAt <= nowMs) {
    peer.sendKeepaliveAt = NEVER;
    act.sendKeepalive(peer, nowMs);
    if (peer.needAnotherKeepalive) {
      peer.needAnotherKeepalive = false;
      peer.sendKeepaliveAt = nowMs + KEEPALIVE_TIMEOUT_MS;
    }
  }
  if (peer.newHandshakeAt <= nowMs) {
    peer.newHandshakeAt = NEVER; // we sent data but heard nothing back for ~15 s
    act.sendHandshakeInitiation(peer, false, nowMs);
  }
  if (peer.zeroKeyMaterialAt <= nowMs) {
    act.zeroAndFlushAll(peer); // no new session for 3 × REJECT_AFTER_TIME
    act.emit({ type: 'keys-zeroed', peer: peer.publicKey, reason: 'timeout' });
  }
  if (peer.persistentKeepaliveAt <= nowMs) {
    peer.persistentKeepaliveAt = NEVER;
    if (peer.persistentKeepaliveMs > 0) act.sendKeepalive(peer, nowMs);
  }
  if (peer.sessionExpiresAt <= nowMs) {
    peer.sessionExpiresAt = NEVER;
    act.emit({ type: 'session-expired', peer: peer.publicKey });
  }
}

function expiredRetransmitHandshake(peer: Peer, nowMs: number, act: TimerActions): void {
  if (peer.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
    // 20 initiations (~90 s) without an answer: give up, drop what waited, erase leftovers later.
    act.emit({ type: 'handshake-gave-up', peer: peer.publicKey, attempts: peer.handshakeAttempts + 1 });
    peer.sendKeepaliveAt = NEVER;
    act.flushStaged(peer);
    if (peer.zeroKeyMaterialAt === NEVER) peer.zeroKeyMaterialAt = nowMs + ZERO_KEYS_AFTER_MS;
  } else {
    peer.handshakeAttempts++;
    act.sendHandshakeInitiation(peer, true, nowMs);
  }
}
