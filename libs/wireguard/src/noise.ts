// The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s message processing (Noise rev 34 §5, §9; WireGuard
// whitepaper §5.4.2–5.4.5), free of WireGuard framing so that published Noise test vectors (other
// prologue, other payload sizes) exercise exactly the code the device runs.
import { CONSTRUCTION, IDENTIFIER } from './constants.js';
import { aeadOpen, aeadSeal, hash, kdf1, kdf2, kdf3 } from './primitives.js';
import { dh, importPublicKey, type EphemeralKeyPair, type X25519PrivateKey, type X25519PublicKey } from './x25519.js';

/** Chaining key and handshake hash; mutated in place by every step. */
export interface SymmetricState {
  ck: Buffer;
  h: Buffer;
}

const ZERO_NONCE = Buffer.alloc(12);
const ZERO_KEY = Buffer.alloc(32);

/** InitializeSymmetric(CONSTRUCTION) + MixHash(prologue): C₀ and H₀ before the pre-message. */
export function initialState(prologue: Uint8Array): SymmetricState {
  const ck = hash(Buffer.from(CONSTRUCTION, 'ascii'));
  return { ck, h: hash(ck, prologue) };
}

/** C₀/H₀ for WireGuard (prologue = IDENTIFIER), computed once. */
export const WIREGUARD_INITIAL = initialState(Buffer.from(IDENTIFIER, 'ascii'));

/** A fresh copy of the start state with the responder's static key mixed in (IK's `<- s`). */
export function beginHandshake(initial: SymmetricState, responderStatic: Uint8Array): SymmetricState {
  return { ck: initial.ck, h: hash(initial.h, responderStatic) };
}

function encryptAndHash(state: SymmetricState, key: Uint8Array, plaintext: Uint8Array): Buffer {
  const sealed = aeadSeal(key, ZERO_NONCE, plaintext, state.h);
  state.h = hash(state.h, sealed);
  return sealed;
}

function decryptAndHash(state: SymmetricState, key: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  const plain = aeadOpen(key, ZERO_NONCE, sealed, state.h);
  if (plain === undefined) return undefined;
  state.h = hash(state.h, sealed);
  return plain;
}

function mixEphemeral(state: SymmetricState, ephemeralPublic: Uint8Array): void {
  state.ck = kdf1(state.ck, ephemeralPublic); // psk modes: every `e` also does MixKey(e)
  state.h = hash(state.h, ephemeralPublic);
}

export interface InitiationParts {
  ephemeral: Buffer;
  encryptedStatic: Buffer;
  encryptedPayload: Buffer;
}

/** Initiator, message 1: `-> e, es, s, ss` + payload. Undefined if a DH result is all-zero. */
export function writeInitiation(
  state: SymmetricState,
  p: {
    localStaticPublic: Uint8Array;
    remoteStatic: X25519PublicKey;
    /** DH(S_i, S_r): identical on both sides, precomputed per peer. */
    staticStatic: Uint8Array;
    ephemeral: EphemeralKeyPair;
    payload: Uint8Array;
  },
): InitiationParts | undefined {
  mixEphemeral(state, p.ephemeral.publicKey);
  const es = dh(p.ephemeral.privateKey, p.remoteStatic);
  if (!es) return undefined;
  let key: Buffer;
  [state.ck, key] = kdf2(state.ck, es);
  const encryptedStatic = encryptAndHash(state, key, p.localStaticPublic);
  [state.ck, key] = kdf2(state.ck, p.staticStatic);
  const encryptedPayload = encryptAndHash(state, key, p.payload);
  return { ephemeral: p.ephemeral.publicKey, encryptedStatic, encryptedPayload };
}

export interface ReadInitiationResult<T> {
  initiatorStatic: Buffer;
  remoteEphemeral: X25519PublicKey;
  payload: Buffer;
  /** Whatever `lookup` returned for the initiator's static key. */
  context: T;
}

/**
 * Responder, message 1. `lookup` maps the decrypted initiator static key to the caller's peer
 * context and its precomputed DH(S_r, S_i); unknown keys end processing (undefined).
 */
export function readInitiation<T>(
  state: SymmetricState,
  p: {
    localStaticPrivate: X25519PrivateKey;
    ephemeral: Uint8Array;
    encryptedStatic: Uint8Array;
    encryptedPayload: Uint8Array;
    lookup: (initiatorStatic: Buffer) => { context: T; staticStatic: Uint8Array } | undefined;
  },
): ReadInitiationResult<T> | undefined {
  const remoteEphemeral = importPublicKey(p.ephemeral);
  if (!remoteEphemeral) return undefined;
  mixEphemeral(state, p.ephemeral);
  const es = dh(p.localStaticPrivate, remoteEphemeral);
  if (!es) return undefined;
  let key: Buffer;
  [state.ck, key] = kdf2(state.ck, es);
  const initiatorStatic = decryptAndHash(state, key, p.encryptedStatic);
  if (!initiatorStatic) return undefined;
  const found = p.lookup(initiatorStatic);
  if (!found) return undefined;
  [state.ck, key] = kdf2(state.ck, found.staticStatic);
  const payload = decryptAndHash(state, key, p.encryptedPayload);
  if (!payload) return undefined;
  return { initiatorStatic, remoteEphemeral, payload, context: found.context };
}

export interface ResponseParts {
  ephemeral: Buffer;
  encryptedPayload: Buffer;
}

/** Responder, message 2: `<- e, ee, se, psk` + payload. */
export function writeResponse(
  state: SymmetricState,
  p: {
    ephemeral: EphemeralKeyPair;
    remoteEphemeral: X25519PublicKey;
    remoteStatic: X25519PublicKey;
    presharedKey?: Uint8Array | undefined;
    payload: Uint8Array;
  },
): ResponseParts | undefined {
  mixEphemeral(state, p.ephemeral.publicKey);
  const ee = dh(p.ephemeral.privateKey, p.remoteEphemeral);
  if (!ee) return undefined;
  state.ck = kdf1(state.ck, ee);
  const se = dh(p.ephemeral.privateKey, p.remoteStatic);
  if (!se) return undefined;
  state.ck = kdf1(state.ck, se);
  const key = mixPsk(state, p.presharedKey);
  const encryptedPayload = encryptAndHash(state, key, p.payload);
  return { ephemeral: p.ephemeral.publicKey, encryptedPayload };
}

/** Initiator, message 2; returns the decrypted payload or undefined when anything fails. */
export function readResponse(
  state: SymmetricState,
  p: {
    localEphemeral: EphemeralKeyPair;
    localStaticPrivate: X25519PrivateKey;
    ephemeral: Uint8Array;
    presharedKey?: Uint8Array | undefined;
    encryptedPayload: Uint8Array;
  },
): Buffer | undefined {
  const remoteEphemeral = importPublicKey(p.ephemeral);
  if (!remoteEphemeral) return undefined;
  mixEphemeral(state, p.ephemeral);
  const ee = dh(p.localEphemeral.privateKey, remoteEphemeral);
  if (!ee) return undefined;
  state.ck = kdf1(state.ck, ee);
  const se = dh(p.localStaticPrivate, remoteEphemeral);
  if (!se) return undefined;
  state.ck = kdf1(state.ck, se);
  const key = mixPsk(state, p.presharedKey);
  return decryptAndHash(state, key, p.encryptedPayload);
}

function mixPsk(state: SymmetricState, psk: Uint8Array | undefined): Buffer {
  const [ck, tau, key] = kdf3(state.ck, psk ?? ZERO_KEY); // the psk step always runs (zeros if unset)
  state.ck = ck;
  state.h = hash(state.h, tau);
  return key;
}

/** Split(): the initiator→responder key first, the responder→initiator key second. */
export function split(state: SymmetricState): [Buffer, Buffer] {
  return kdf2(state.ck);
}
