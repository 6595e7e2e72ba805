// Transport data messages (whitepaper §5.4.6; wireguard-go device/send.go and receive.go): keypairs,
// padding to 16 bytes capped at the MTU, sealing with the LE64 counter nonce, opening, and trimming
// the decrypted IP packet to the length its own header states.
import { defaultTransportAead, type AeadKey, type TransportAead } from './aead.js';
import { AEAD_TAG_SIZE, MESSAGE_TRANSPORT_HEADER_SIZE, MESSAGE_TRANSPORT_TYPE, PADDING_MULTIPLE } from './constants.js';
import { TRANSPORT, readU32LE, writeU32LE } from './messages.js';
import { ReplayFilter } from './replay.js';

export class Keypair {
  sendCounter = 0;
  readonly replay = new ReplayFilter();
  readonly sendKey: AeadKey;
  readonly receiveKey: AeadKey;

  constructor(
    sendKey: Uint8Array,
    receiveKey: Uint8Array,
    readonly isInitiator: boolean,
    readonly createdMs: number,
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly aead: TransportAead = defaultTransportAead,
  ) {
    this.sendKey = aead.importKey(sendKey);
    this.receiveKey = aead.importKey(receiveKey);
  }
}

/** Zero bytes to append (wireguard-go calculatePaddingSize): up to a multiple of 16, never past the MTU. */
export function paddingLength(packetLength: number, mtu: number): number {
  let lastUnit = packetLength;
  if (mtu === 0) return ((lastUnit + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1)) - lastUnit;
  if (lastUnit > mtu) lastUnit %= mtu;
  const padded = Math.min((lastUnit + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1), mtu);
  return padded - lastUnit;
}

// The AEADs read the nonce during the call only, so one buffer serves every call.
const sealNonce = Buffer.alloc(12);

/** A complete type-4 message carrying `packet` (empty = keepalive) under `counter`. */
export function sealTransport(keypair: Keypair, packet: Uint8Array, counter: number, mtu: number): Buffer {
  const pad = packet.length === 0 ? 0 : paddingLength(packet.length, mtu);
  const out = Buffer.allocUnsafe(MESSAGE_TRANSPORT_HEADER_SIZE + packet.length + pad + AEAD_TAG_SIZE);
  writeU32LE(out, 0, MESSAGE_TRANSPORT_TYPE);
  writeU32LE(out, TRANSPORT.receiver, keypair.remoteIndex);
  const low = counter >>> 0;
  const high = Math.floor(counter / 0x1_0000_0000);
  writeU32LE(out, TRANSPORT.counter, low);
  writeU32LE(out, TRANSPORT.counter + 4, high);
  writeU32LE(sealNonce, 4, low);
  writeU32LE(sealNonce, 8, high);
  keypair.aead.seal(keypair.sendKey, sealNonce, packet, pad, out, MESSAGE_TRANSPORT_HEADER_SIZE);
  return out;
}

/** The 64-bit counter of a transport message, or undefined when it is not an exact number (≥ 2^53). */
export function readCounter(datagram: Uint8Array): number | undefined {
  const lo = readU32LE(datagram, TRANSPORT.counter);
  const hi = readU32LE(datagram, TRANSPORT.counter + 4);
  if (hi >= 0x20_0000) return undefined;
  return hi * 0x1_0000_0000 + lo;
}

const openNonce = Buffer.alloc(12);

/** Decrypts a transport message; undefined if the tag does not verify. Never throws. */
export function openTransport(keypair: Keypair, datagram: Uint8Array): Buffer | undefined {
  writeU32LE(openNonce, 4, readU32LE(datagram, TRANSPORT.counter));
  writeU32LE(openNonce, 8, readU32LE(datagram, TRANSPORT.counter + 4));
  return keypair.aead.open(keypair.receiveKey, openNonce, datagram.subarray(TRANSPORT.content));
}

/**
 * The IP packet inside decrypted padding: IPv4 trimmed to its total length (≥ 20), IPv6 to payload
 * length + 40. Undefined for other versions or a length field beyond the plaintext.
 */
export function trimInnerPacket(plain: Uint8Array): Uint8Array | undefined {
  const version = plain[0]! >> 4;
  if (version === 4) {
    if (plain.length < 20) return undefined;
    const total = (plain[2]! << 8) | plain[3]!;
    if (total < 20 || total > plain.length) return undefined;
    return plain.subarray(0, total);
  }
  if (version === 6) {
    if (plain.length < 40) return undefined;
    const total = ((plain[4]! << 8) | plain[5]!) + 40;
    if (total > plain.length) return undefined;
    return plain.subarray(0, total);
  }
  return undefined;
}
