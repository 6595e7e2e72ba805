// TCP header and options (RFC 9293 §3.1; MSS RFC 9293 §3.7.1, window scale and timestamps
// RFC 7323 §2-3, SACK RFC 2018 §2-3): parse into a TcpRepr and emit one, checksum over the IPv4
// pseudo-header. Options are emitted in Linux's order so captured packets round-trip byte-exactly.
import { ByteView, lengthFieldCheck } from './byte-view.js';
import { finishChecksum, pseudoHeaderSum, sumWords } from './checksum.js';
import { IP_PROTOCOL_TCP } from './ipv4.js';
import { WireError, type DropReason } from './wire-error.js';

export const TCP_HEADER_LEN = 20;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WS = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_SACK = 5;
const OPT_TIMESTAMPS = 8;
/** RFC 7323 §2.3: a shift above 14 is treated as 14. */
export const MAX_WINDOW_SHIFT = 14;

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Flag bits (TCP_FIN … TCP_CWR). */
  flags: number;
  /** The raw 16-bit window field (unscaled). */
  window: number;
  urgent: number;
  /** MSS option value, when present. */
  mss: number | undefined;
  /** Window-scale shift (already clamped to 14), when present. */
  windowScale: number | undefined;
  sackPermitted: boolean;
  /** SACK blocks as flat [left0, right0, left1, right1, …] wire sequence numbers, when present. */
  sackBlocks: number[] | undefined;
  /** TSval, when the timestamps option is present. */
  tsVal: number | undefined;
  tsEcr: number;
  /** Segment data (a view into the received packet on parse). */
  payload: Uint8Array;
}

function u16(buf: Uint8Array, i: number): number {
  return (buf[i]! << 8) | buf[i + 1]!;
}
function u32(buf: Uint8Array, i: number): number {
  return ((buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!) >>> 0;
}
function put16(buf: Uint8Array, i: number, v: number): void {
  buf[i] = (v >>> 8) & 0xff;
  buf[i + 1] = v & 0xff;
}
function put32(buf: Uint8Array, i: number, v: number): void {
  buf[i] = v >>> 24;
  buf[i + 1] = (v >>> 16) & 0xff;
  buf[i + 2] = (v >>> 8) & 0xff;
  buf[i + 3] = v & 0xff;
}

const TCP_LENGTH = lengthFieldCheck(
  TCP_HEADER_LEN,
  ['tcpTruncated', 'tcp: segment'],
  ['tcpBadDataOffset', 'tcp: data offset', (buffer, start) => (buffer[start + 12]! >>> 4) * 4],
);

/** Why `buffer[start, end)` cannot hold a TCP header, or undefined when it can. Never throws. */
export const tcpLengthError = TCP_LENGTH.error;

/**
 * Typed accessors over one TCP segment at `buffer[start, end)` (RFC 9293 §3.1 figure 1), read and
 * written in place; the bounds let a view sit inside an IPv4 packet without a subarray. Check the
 * length first (`TcpPacket.checked()` throws WireError; `tcpLengthError()` returns the reason).
 */
export class TcpPacket extends ByteView {
  static checked(buffer: Uint8Array, start = 0, end = buffer.length): TcpPacket {
    TCP_LENGTH.assert(buffer, start, end);
    return new TcpPacket(buffer, start, end);
  }

  get srcPort(): number {
    return u16(this.buffer, this.start);
  }
  get dstPort(): number {
    return u16(this.buffer, this.start + 2);
  }
  get seqNumber(): number {
    return u32(this.buffer, this.start + 4);
  }
  get ackNumber(): number {
    return u32(this.buffer, this.start + 8);
  }
  /** Header length in bytes, options included (the data offset field counts 32-bit words). */
  get headerLen(): number {
    return (this.buffer[this.start + 12]! >>> 4) * 4;
  }
  /** Flag bits (TCP_FIN … TCP_CWR). */
  get flags(): number {
    return this.buffer[this.start + 13]!;
  }
  /** The raw 16-bit window field (unscaled). */
  get window(): number {
    return u16(this.buffer, this.start + 14);
  }
  get checksum(): number {
    return u16(this.buffer, this.start + 16);
  }
  get urgent(): number {
    return u16(this.buffer, this.start + 18);
  }
  /** Segment data after the header and options. A view, no copy. */
  get payload(): Uint8Array {
    return this.buffer.subarray(this.start + this.headerLen, this.end);
  }

  setSrcPort(value: number): void {
    put16(this.buffer, this.start, value);
  }
  setDstPort(value: number): void {
    put16(this.buffer, this.start + 2, value);
  }
  setSeqNumber(value: number): void {
    put32(this.buffer, this.start + 4, value);
  }
  setAckNumber(value: number): void {
    put32(this.buffer, this.start + 8, value);
  }
  setFlags(value: number): void {
    this.buffer[this.start + 13] = value;
  }
  setWindow(value: number): void {
    put16(this.buffer, this.start + 14, value);
  }

  /** Checks the checksum against the IPv4 pseudo-header of `srcAddr` → `dstAddr`. */
  verifyChecksum(srcAddr: number, dstAddr: number): boolean {
    const len = this.end - this.start;
    const sum = sumWords(this.buffer, this.start, this.end, pseudoHeaderSum(srcAddr, dstAddr, IP_PROTOCOL_TCP, len));
    return finishChecksum(sum) === 0;
  }
  /** Recomputes the checksum after fields were changed. */
  fillChecksum(srcAddr: number, dstAddr: number): void {
    fillTcpChecksum(this.buffer, this.start, this.end - this.start, srcAddr, dstAddr);
  }
}

/** Parses a TCP segment (the IPv4 payload). Throws WireError on any malformed field. */
export function parseTcp(seg: Uint8Array, srcAddr: number, dstAddr: number, verifyChecksum: boolean): TcpRepr {
  return parseTcpInto(emptyTcpRepr(), seg, 0, seg.length, srcAddr, dstAddr, verifyChecksum);
}

const NO_PAYLOAD = new Uint8Array(0);

/**
 * Parses the segment at `buf[start, end)` into `repr`, overwriting every field, and returns it:
 * the stack's receive path reuses one repr and reads the segment inside its IPv4 packet, so a
 * segment costs no object beyond its payload view (none for a segment without data).
 */
export function parseTcpInto(repr: TcpRepr, buf: Uint8Array, start: number, end: number, srcAddr: number, dstAddr: number, verifyChecksum: boolean): TcpRepr {
  if (tcpLengthError(buf, start, end) !== undefined) TcpPacket.checked(buf, start, end); // throws the reason
  const len = end - start;
  const dataOffset = (buf[start + 12]! >>> 4) * 4;
  if (verifyChecksum && finishChecksum(sumWords(buf, start, end, pseudoHeaderSum(srcAddr, dstAddr, IP_PROTOCOL_TCP, len))) !== 0) {
    throw new WireError('tcpBadChecksum', `tcp: checksum 0x${u16(buf, start + 16).toString(16)} is wrong`);
  }
  const srcPort = u16(buf, start);
  const dstPort = u16(buf, start + 2);
  if (srcPort === 0 || dstPort === 0) {
    throw new WireError('tcpBadPort', `tcp: port 0 (${srcPort} → ${dstPort})`);
  }
  repr.srcPort = srcPort;
  repr.dstPort = dstPort;
  repr.seq = u32(buf, start + 4);
  repr.ack = u32(buf, start + 8);
  repr.flags = buf[start + 13]!;
  repr.window = u16(buf, start + 14);
  repr.urgent = u16(buf, start + 18);
  repr.mss = undefined;
  repr.windowScale = undefined;
  repr.sackPermitted = false;
  repr.sackBlocks = undefined;
  repr.tsVal = undefined;
  repr.tsEcr = 0;
  // A plain Uint8Array view: cheaper to make than a Buffer subarray, and the stack only copies from it.
  repr.payload = dataOffset === len ? NO_PAYLOAD : new Uint8Array(buf.buffer, buf.byteOffset + start + dataOffset, len - dataOffset);
  if (dataOffset > TCP_HEADER_LEN) parseOptions(buf, start, start + dataOffset, repr);
  return repr;
}

function parseOptions(seg: Uint8Array, start: number, end: number, repr: TcpRepr): void {
  let i = start + TCP_HEADER_LEN;
  while (i < end) {
    const kind = seg[i]!;
    if (kind === OPT_EOL) return;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    // RFC 9293 §3.2: every other option carries a length byte covering kind and length.
    if (i + 1 >= end) throw new WireError('tcpBadOption', `tcp: option ${kind} has no length byte`);
    const len = seg[i + 1]!;
    if (len < 2 || i + len > end) {
      throw new WireError('tcpBadOption', `tcp: option ${kind} length ${len} does not fit the header`);
    }
    // Known options with a wrong length are ignored, as Linux does, rather than misread.
    if (kind === OPT_MSS && len === 4) {
      repr.mss = u16(seg, i + 2);
    } else if (kind === OPT_WS && len === 3) {
      repr.windowScale = Math.min(seg[i + 2]!, MAX_WINDOW_SHIFT);
    } else if (kind === OPT_SACK_PERMITTED && len === 2) {
      repr.sackPermitted = true;
    } else if (kind === OPT_SACK && len >= 10 && (len - 2) % 8 === 0) {
      const blocks: number[] = [];
      for (let j = i + 2; j < i + len; j += 8) blocks.push(u32(seg, j), u32(seg, j + 4));
      repr.sackBlocks = blocks;
    } else if (kind === OPT_TIMESTAMPS && len === 10) {
      repr.tsVal = u32(seg, i + 2);
      repr.tsEcr = u32(seg, i + 6);
    }
    i += len;
  }
}

/** Bytes of options `emitTcp` writes for `repr` (always a multiple of 4). */
export function tcpOptionsLen(repr: TcpRepr): number {
  let n = 0;
  if (repr.mss !== undefined) n += 4;
  if (repr.tsVal !== undefined) n += 12; // SACK-permitted + TS, or NOP NOP TS
  else if (repr.sackPermitted) n += 4; // NOP NOP SACK-permitted
  if (repr.windowScale !== undefined) n += 4; // NOP WS
  if (repr.sackBlocks !== undefined && repr.sackBlocks.length > 0) n += 4 + repr.sackBlocks.length * 4;
  return n;
}

export function tcpHeaderLen(repr: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLen(repr);
}

/**
 * Writes the header and options of `repr` at `offset`; returns the header length (pass it when
 * already known, it is not computed twice). The payload is not copied and the checksum not
 * filled: callers place the data, then call fillTcpChecksum.
 */
export function emitTcpHeader(repr: TcpRepr, buf: Uint8Array, offset: number, headerLen = tcpHeaderLen(repr)): number {
  put16(buf, offset, repr.srcPort);
  put16(buf, offset + 2, repr.dstPort);
  put32(buf, offset + 4, repr.seq);
  put32(buf, offset + 8, repr.ack);
  buf[offset + 12] = (headerLen / 4) << 4;
  buf[offset + 13] = repr.flags;
  put16(buf, offset + 14, repr.window);
  put16(buf, offset + 16, 0);
  put16(buf, offset + 18, repr.urgent);
  let i = offset + TCP_HEADER_LEN;
  if (repr.mss !== undefined) {
    buf[i] = OPT_MSS;
    buf[i + 1] = 4;
    put16(buf, i + 2, repr.mss);
    i += 4;
  }
  if (repr.tsVal !== undefined) {
    if (repr.sackPermitted) {
      buf[i] = OPT_SACK_PERMITTED;
      buf[i + 1] = 2;
    } else {
      buf[i] = OPT_NOP;
      buf[i + 1] = OPT_NOP;
    }
    buf[i + 2] = OPT_TIMESTAMPS;
    buf[i + 3] = 10;
    put32(buf, i + 4, repr.tsVal);
    put32(buf, i + 8, repr.tsEcr);
    i += 12;
  } else if (repr.sackPermitted) {
    buf[i] = OPT_NOP;
    buf[i + 1] = OPT_NOP;
    buf[i + 2] = OPT_SACK_PERMITTED;
    buf[i + 3] = 2;
    i += 4;
  }
  if (repr.windowScale !== undefined) {
    buf[i] = OPT_NOP;
    buf[i + 1] = OPT_WS;
    buf[i + 2] = 3;
    buf[i + 3] = repr.windowScale;
    i += 4;
  }
  const blocks = repr.sackBlocks;
  if (blocks !== undefined && blocks.length > 0) {
    buf[i] = OPT_NOP;
    buf[i + 1] = OPT_NOP;
    buf[i + 2] = OPT_SACK;
    buf[i + 3] = 2 + blocks.length * 4;
    i += 4;
    for (const edge of blocks) {
      put32(buf, i, edge);
      i += 4;
    }
  }
  return headerLen;
}

/** Computes and stores the checksum of the segment `buf[offset, offset+len)`. */
export function fillTcpChecksum(buf: Uint8Array, offset: number, len: number, srcAddr: number, dstAddr: number): void {
  buf[offset + 16] = 0;
  buf[offset + 17] = 0;
  const sum = sumWords(buf, offset, offset + len, pseudoHeaderSum(srcAddr, dstAddr, IP_PROTOCOL_TCP, len));
  put16(buf, offset + 16, finishChecksum(sum));
}

/** Emits header, options and payload of `repr` at `offset` with the checksum; returns the length. */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, offset: number, srcAddr: number, dstAddr: number): number {
  const headerLen = emitTcpHeader(repr, buf, offset);
  buf.set(repr.payload, offset + headerLen);
  const len = headerLen + repr.payload.length;
  fillTcpChecksum(buf, offset, len, srcAddr, dstAddr);
  return len;
}

/** A TcpRepr with every optional field absent, for building segments field by field. */
export function emptyTcpRepr(): TcpRepr {
  return {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    urgent: 0,
    mss: undefined,
    windowScale: undefined,
    sackPermitted: false,
    sackBlocks: undefined,
    tsVal: undefined,
    tsEcr: 0,
    payload: new Uint8Array(0),
  };
}
