// WireGuard's handshake messages on top of the Noise core (whitepaper §5.4.2–5.4.5; wireguard-go
// device/noise-protocol.go): createInitiation / consumeInitiation / createResponse /
// consumeResponse, the TAI64N replay and 20 ms flood rules, and session key derivation.
import { HANDSHAKE_INITIATION_RATE_MS, MESSAGE_INITIATION_SIZE, MESSAGE_INITIATION_TYPE, MESSAGE_RESPONSE_SIZE, MESSAGE_RESPONSE_TYPE, TAI64N_SIZE } from './constants.js';
import { INITIATION, RESPONSE, newMessage, readU32LE, writeU32LE } from './messages.js';
import { WIREGUARD_INITIAL, beginHandshake, readInitiation, readResponse, split, writeInitiation, writeResponse, type SymmetricState } from './noise.js';
import { tai64nAfter } from './tai64n.js';
import { dh, generateEphemeral, type EphemeralKeyPair, type X25519PrivateKey, type X25519PublicKey } from './x25519.js';

export const enum HandshakeState {
  Zeroed,
  InitiationCreated,
  InitiationConsumed,
  ResponseCreated,
  ResponseConsumed,
}

/** Our static identity. */
export interface LocalIdentity {
  privateKey: X25519PrivateKey;
  publicKey: Buffer;
}

/** Per-peer handshake state. Everything secret is dropped by `clear()`. */
export class Handshake {
  state = HandshakeState.Zeroed;
  symmetric: SymmetricState | undefined;
  localEphemeral: EphemeralKeyPair | undefined;
  remoteEphemeral: X25519PublicKey | undefined;
  localIndex = 0;
  remoteIndex = 0;
  /** Greatest TAI64N accepted from this peer (in memory only: a restarted responder accepts any). */
  lastTimestamp: Uint8Array = new Uint8Array(TAI64N_SIZE);
  lastInitiationConsumedMs = -Infinity;
  /** When we last sent an initiation or response (at most one per REKEY_TIMEOUT). */
  lastSentHandshakeMs = -Infinity;
  /** DH(S_local, S_remote), computed once per (local key, peer) and cached; null if all-zero. */
  private staticStaticCache: Buffer | null | undefined;

  constructor(
    readonly remoteStatic: Buffer,
    readonly remoteStaticKey: X25519PublicKey,
    public presharedKey: Uint8Array | undefined,
  ) {}

  /** Records the message we just built (initiation or response) and returns it for sending. */
  created(state: HandshakeState, symmetric: SymmetricState, ephemeral: EphemeralKeyPair, senderIndex: number, msg: Buffer): Buffer {
    this.state = state;
    this.symmetric = symmetric;
    this.localEphemeral = ephemeral;
    this.localIndex = senderIndex;
    return msg;
  }

  staticStatic(identity: LocalIdentity): Buffer | undefined {
    if (this.staticStaticCache === undefined) this.staticStaticCache = dh(identity.privateKey, this.remoteStaticKey) ?? null;
    return this.staticStaticCache ?? undefined;
  }

  /** After our private key changed the cached static-static secret is wrong. */
  forgetStaticStatic(): void {
    this.staticStaticCache = undefined;
  }

  clear(): void {
    this.state = HandshakeState.Zeroed;
    this.symmetric = undefined;
    this.localEphemeral = undefined;
    this.remoteEphemeral = undefined;
    this.localIndex = 0;
    this.remoteIndex = 0;
  }
}

/** Message 1 without macs, or undefined when the peer's key is unusable (all-zero DH). */
export function createInitiation(
  identity: LocalIdentity,
  hs: Handshake,
  senderIndex: number,
  timestamp: Uint8Array,
  ephemeral: EphemeralKeyPair = generateEphemeral(),
): Buffer | undefined {
  const staticStatic = hs.staticStatic(identity);
  if (!staticStatic) return undefined;
  const state = beginHandshake(WIREGUARD_INITIAL, hs.remoteStatic);
  const parts = writeInitiation(state, {
    localStaticPublic: identity.publicKey,
    remoteStatic: hs.remoteStaticKey,
    staticStatic,
    ephemeral,
    payload: timestamp,
  });
  if (!parts) return undefined;
  const msg = newMessage(MESSAGE_INITIATION_TYPE, MESSAGE_INITIATION_SIZE);
  writeU32LE(msg, INITIATION.sender, senderIndex);
  msg.set(parts.ephemeral, INITIATION.ephemeral);
  msg.set(parts.encryptedStatic, INITIATION.static);
  msg.set(parts.encryptedPayload, INITIATION.timestamp);
  return hs.created(HandshakeState.InitiationCreated, state, ephemeral, senderIndex, msg);
}

export type ConsumeInitiationResult<P> =
  | { ok: true; peer: P }
  | { ok: false; reason: 'handshake-failed' | 'unknown-peer' | 'replayed-timestamp' | 'initiation-flood' };

/**
 * Message 1 as responder: decrypt, find the peer by its static key, apply the TAI64N "newer than
 * last" and 20 ms flood rules, and only then commit the new state. `lookup` returns undefined for
 * keys we do not know (dropped silently).
 */
export function consumeInitiation<P>(
  identity: LocalIdentity,
  msg: Uint8Array,
  nowMs: number,
  lookup: (initiatorStatic: Buffer) => { peer: P; handshake: Handshake } | undefined,
): ConsumeInitiationResult<P> {
  let unknown = false;
  const state = beginHandshake(WIREGUARD_INITIAL, identity.publicKey);
  const read = readInitiation(state, {
    localStaticPrivate: identity.privateKey,
    ephemeral: msg.subarray(INITIATION.ephemeral, INITIATION.static),
    encryptedStatic: msg.subarray(INITIATION.static, INITIATION.timestamp),
    encryptedPayload: msg.subarray(INITIATION.timestamp, INITIATION.mac1),
    lookup: (initiatorStatic) => {
      const found = lookup(initiatorStatic);
      const staticStatic = found?.handshake.staticStatic(identity);
      if (!found || !staticStatic) {
        unknown = true;
        return undefined;
      }
      return { context: found, staticStatic };
    },
  });
  if (!read) return { ok: false, reason: unknown ? 'unknown-peer' : 'handshake-failed' };
  const { handshake: hs, peer } = read.context;
  const timestamp = read.payload;
  if (!tai64nAfter(timestamp, hs.lastTimestamp)) return { ok: false, reason: 'replayed-timestamp' };
  if (nowMs - hs.lastInitiationConsumedMs <= HANDSHAKE_INITIATION_RATE_MS) return { ok: false, reason: 'initiation-flood' };
  hs.state = HandshakeState.InitiationConsumed;
  hs.symmetric = state;
  hs.remoteEphemeral = read.remoteEphemeral;
  hs.remoteIndex = readU32LE(msg, INITIATION.sender);
  hs.lastTimestamp = timestamp;
  hs.lastInitiationConsumedMs = nowMs;
  hs.localEphemeral = undefined;
  return { ok: true, peer };
}

/** Message 2 without macs, after a consumed initiation; undefined if the state does not allow it. */
export function createResponse(
  hs: Handshake,
  senderIndex: number,
  ephemeral: EphemeralKeyPair = generateEphemeral(),
): Buffer | undefined {
  if (hs.state !== HandshakeState.InitiationConsumed || !hs.symmetric || !hs.remoteEphemeral) return undefined;
  const state = { ck: hs.symmetric.ck, h: hs.symmetric.h };
  const parts = writeResponse(state, {
    ephemeral,
    remoteEphemeral: hs.remoteEphemeral,
    remoteStatic: hs.remoteStaticKey,
    presharedKey: hs.presharedKey,
    payload: new Uint8Array(0),
  });
  if (!parts) return undefined;
  const msg = newMessage(MESSAGE_RESPONSE_TYPE, MESSAGE_RESPONSE_SIZE);
  writeU32LE(msg, RESPONSE.sender, senderIndex);
  writeU32LE(msg, RESPONSE.receiver, hs.remoteIndex);
  msg.set(parts.ephemeral, RESPONSE.ephemeral);
  msg.set(parts.encryptedPayload, RESPONSE.empty);
  return hs.created(HandshakeState.ResponseCreated, state, ephemeral, senderIndex, msg);
}

export type ConsumeResponseResult<P> =
  | { ok: true; peer: P }
  | { ok: false; reason: 'unknown-index' | 'unexpected-response' | 'handshake-failed' };

/**
 * Message 2 as initiator. `lookup` maps the receiver index to the handshake we sent it from; the
 * handshake must still be waiting for this response, and nothing changes unless it authenticates.
 */
export function consumeResponse<P>(
  identity: LocalIdentity,
  msg: Uint8Array,
  lookup: (receiverIndex: number) => { peer: P; handshake: Handshake } | undefined,
): ConsumeResponseResult<P> {
  const found = lookup(readU32LE(msg, RESPONSE.receiver));
  if (!found) return { ok: false, reason: 'unknown-index' };
  const hs = found.handshake;
  if (hs.state !== HandshakeState.InitiationCreated || !hs.symmetric || !hs.localEphemeral) {
    return { ok: false, reason: 'unexpected-response' };
  }
  const state = { ck: hs.symmetric.ck, h: hs.symmetric.h };
  const payload = readResponse(state, {
    localEphemeral: hs.localEphemeral,
    localStaticPrivate: identity.privateKey,
    ephemeral: msg.subarray(RESPONSE.ephemeral, RESPONSE.empty),
    presharedKey: hs.presharedKey,
    encryptedPayload: msg.subarray(RESPONSE.empty, RESPONSE.mac1),
  });
  if (!payload) return { ok: false, reason: 'handshake-failed' };
  hs.state = HandshakeState.ResponseConsumed;
  hs.symmetric = state;
  hs.remoteIndex = readU32LE(msg, RESPONSE.sender);
  return { ok: true, peer: found.peer };
}

export interface SessionKeys {
  sendKey: Buffer;
  receiveKey: Buffer;
  isInitiator: boolean;
  localIndex: number;
  remoteIndex: number;
}

/** Split() after a consumed response (initiator) or a created response (responder); clears `hs`. */
export function deriveSessionKeys(hs: Handshake): SessionKeys | undefined {
  const isInitiator = hs.state === HandshakeState.ResponseConsumed;
  if (!hs.symmetric || (!isInitiator && hs.state !== HandshakeState.ResponseCreated)) return undefined;
  const [first, second] = split(hs.symmetric);
  const keys: SessionKeys = {
    sendKey: isInitiator ? first : second,
    receiveKey: isInitiator ? second : first,
    isInitiator,
    localIndex: hs.localIndex,
    remoteIndex: hs.remoteIndex,
  };
  hs.clear();
  return keys;
}
