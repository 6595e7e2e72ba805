// Modbus/TCP framing for the read-only filter (Modbus Application Protocol v1.1b3 and the Modbus
// Messaging on TCP/IP Implementation Guide v1.0b): the MBAP header — transaction id, protocol id
// (0 = Modbus), length (bytes after it: unit id + PDU), unit id — then the PDU, function code
// first. Sans-I/O: bytes in, frames to forward and exception responses out; frames may be split
// across segments or pipelined several to a segment.

export const MBAP_HEADER_BYTES = 7;
/** Length field bounds: unit id + function code at least; unit id + the largest PDU (253) at most. */
export const MIN_MBAP_LENGTH = 2;
export const MAX_MBAP_LENGTH = 254;
/** Exception code 01 ILLEGAL FUNCTION (Application Protocol §7). */
export const ILLEGAL_FUNCTION = 0x01;
/** Encapsulated Interface Transport's MEI type 14: Read Device Identification (§6.21). */
const MEI_READ_DEVICE_ID = 0x0e;

/**
 * Function codes that only read (Application Protocol §6). Everything else is refused: the writes
 * (5, 6, 15, 16, 21, 22, 23), diagnostics (8, whose sub-functions restart and clear), and any code
 * this list does not know, public or user-defined — a read-only port cannot guess what an
 * unknown code does to the device.
 */
const READ_FUNCTIONS = new Set([
  0x01, // Read Coils
  0x02, // Read Discrete Inputs
  0x03, // Read Holding Registers
  0x04, // Read Input Registers
  0x07, // Read Exception Status
  0x0b, // Get Comm Event Counter
  0x0c, // Get Comm Event Log
  0x11, // Report Server ID
  0x14, // Read File Record
  0x18, // Read FIFO Queue
]);

/** Whether a request PDU only reads. `pdu` starts at the function code. */
export function isReadOnlyRequest(pdu: Uint8Array): boolean {
  const fc = pdu[0];
  if (fc === undefined) return false;
  if (READ_FUNCTIONS.has(fc)) return true;
  // 43 carries sub-protocols; only Read Device Identification is a read (13, CANopen, can write).
  return fc === 0x2b && pdu[1] === MEI_READ_DEVICE_ID;
}

/** The exception response to a request frame: same transaction and unit, function code | 0x80. */
export function exceptionResponse(frame: Uint8Array, exceptionCode = ILLEGAL_FUNCTION): Buffer {
  const out = Buffer.alloc(MBAP_HEADER_BYTES + 2);
  out[0] = frame[0]!;
  out[1] = frame[1]!;
  out.writeUInt16BE(0, 2);
  out.writeUInt16BE(3, 4); // unit id + function code + exception code
  out[6] = frame[6]!;
  out[7] = (frame[7]! | 0x80) & 0xff;
  out[8] = exceptionCode;
  return out;
}

export type FilterOutput =
  | { kind: 'forward'; frame: Buffer }
  | { kind: 'refuse'; reply: Buffer; functionCode: number }
  | { kind: 'invalid'; reason: string };

/**
 * Reassembles request frames from a byte stream and sorts them. After an 'invalid' output the
 * stream cannot be resynchronised (MBAP has no frame marker): the caller closes the connection.
 */
export class ModbusRequestFilter {
  #pending: Buffer = Buffer.alloc(0);
  #broken = false;
  forwarded = 0;
  refused = 0;

  push(chunk: Uint8Array): FilterOutput[] {
    if (this.#broken) return [];
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const out: FilterOutput[] = [];
    let offset = 0;
    while (this.#pending.length - offset >= MBAP_HEADER_BYTES) {
      const protocol = this.#pending.readUInt16BE(offset + 2);
      const length = this.#pending.readUInt16BE(offset + 4);
      if (protocol !== 0) return this.#fail(out, `modbus: protocol id ${protocol} is not 0 (Modbus)`);
      if (length < MIN_MBAP_LENGTH || length > MAX_MBAP_LENGTH) {
        return this.#fail(out, `modbus: MBAP length ${length} outside ${MIN_MBAP_LENGTH}–${MAX_MBAP_LENGTH}`);
      }
      const total = MBAP_HEADER_BYTES - 1 + length; // the length counts the unit id, part of the 7-byte header
      if (this.#pending.length - offset < total) break;
      const frame = this.#pending.subarray(offset, offset + total);
      offset += total;
      if (isReadOnlyRequest(frame.subarray(MBAP_HEADER_BYTES))) {
        this.forwarded++;
        out.push({ kind: 'forward', frame: Buffer.from(frame) });
      } else {
        this.refused++;
        out.push({ kind: 'refuse', reply: exceptionResponse(frame), functionCode: frame[7]! });
      }
    }
    this.#pending = this.#pending.subarray(offset);
    return out;
  }

  #fail(out: FilterOutput[], reason: string): FilterOutput[] {
    this.#broken = true;
    this.#pending = Buffer.alloc(0);
    out.push({ kind: 'invalid', reason });
    return out;
  }
}
