// The read-only Modbus/TCP filter on bytes: byte-exact exception responses, frames split across
// segments and pipelined in one, every write and unknown code refused, bad MBAP headers close the
// stream, and seeded random bytes never crash it.
import { seededRandom } from '@porthole/wireguard/testing';
import { describe, expect, it } from 'vitest';
import { ModbusRequestFilter, exceptionResponse, isReadOnlyRequest } from './modbus-frames.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// Read Holding Registers, transaction 0x0001, unit 0x11, start 0x006B, count 3 (the spec's example).
const READ_HOLDING = hex('0001 0000 0006 11 03 006B 0003');
// Write Single Register, transaction 0x0002, unit 0x11, register 0x0001 = 0x0003.
const WRITE_SINGLE = hex('0002 0000 0006 11 06 0001 0003');
// Write Multiple Registers: 2 registers at 0x0001.
const WRITE_MULTIPLE = hex('0003 0000 000B 11 10 0001 0002 04 000A 0102');

describe('read-only Modbus/TCP filter', () => {
  it('answers a write with exception 01 byte for byte and forwards a read unchanged', () => {
    const f = new ModbusRequestFilter();
    const out = f.push(Buffer.concat([READ_HOLDING, WRITE_SINGLE]));
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ kind: 'forward', frame: READ_HOLDING });
    expect(out[1]!.kind).toBe('refuse');
    // transaction 0002, protocol 0, length 3, unit 11, function 0x86, exception 01
    expect((out[1] as { reply: Buffer }).reply.toString('hex')).toBe('000200000003118601');
    expect(exceptionResponse(WRITE_MULTIPLE).toString('hex')).toBe('000300000003119001');
    expect([f.forwarded, f.refused]).toEqual([1, 1]);
  });

  it('reassembles frames split at every byte boundary, several pipelined in one stream', () => {
    const stream = Buffer.concat([READ_HOLDING, WRITE_MULTIPLE, READ_HOLDING, WRITE_SINGLE]);
    for (let cut = 1; cut < stream.length; cut++) {
      const f = new ModbusRequestFilter();
      const out = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(out.map((o) => o.kind)).toEqual(['forward', 'refuse', 'forward', 'refuse']);
    }
    const f = new ModbusRequestFilter();
    const out = [...stream].flatMap((b) => f.push(Uint8Array.of(b)));
    expect(out.map((o) => o.kind)).toEqual(['forward', 'refuse', 'forward', 'refuse']);
  });

  it('refuses every write, diagnostics, CANopen and unknown codes; passes the reads', () => {
    for (const fc of [0x05, 0x06, 0x0f, 0x10, 0x15, 0x16, 0x17, 0x08, 0x41, 0x64, 0x7f, 0x00]) expect(isReadOnlyRequest(Uint8Array.of(fc, 0, 0)), `fc ${fc}`).toBe(false);
    for (const fc of [0x01, 0x02, 0x03, 0x04, 0x07, 0x0b, 0x0c, 0x11, 0x14, 0x18]) expect(isReadOnlyRequest(Uint8Array.of(fc, 0, 0)), `fc ${fc}`).toBe(true);
    expect(isReadOnlyRequest(Uint8Array.of(0x2b, 0x0e, 1, 0))).toBe(true); // Read Device Identification
    expect(isReadOnlyRequest(Uint8Array.of(0x2b, 0x0d, 0, 0))).toBe(false); // CANopen General Reference
    expect(isReadOnlyRequest(new Uint8Array(0))).toBe(false);
  });

  it('closes on a protocol id other than 0 or a length outside 2–254, and stays closed', () => {
    const bad = new ModbusRequestFilter();
    expect(bad.push(hex('0001 0001 0006 11 03 006B 0003'))).toEqual([{ kind: 'invalid', reason: 'modbus: protocol id 1 is not 0 (Modbus)' }]);
    expect(bad.push(READ_HOLDING)).toEqual([]);
    expect(new ModbusRequestFilter().push(hex('0001 0000 0001 11'))[0]).toMatchObject({ kind: 'invalid' });
    expect(new ModbusRequestFilter().push(hex('0001 0000 00FF 11'))[0]).toMatchObject({ kind: 'invalid' });
    // A valid frame before the bad header still goes through.
    expect(new ModbusRequestFilter().push(Buffer.concat([READ_HOLDING, hex('0009 0007 0002 11 03')])).map((o) => o.kind)).toEqual(['forward', 'invalid']);
  });

  it('never throws on seeded random bytes, and forwards only reads', () => {
    const seed = Number(process.env.WG_TEST_SEED ?? 0x5eed);
    const rand = seededRandom(seed);
    console.log(`modbus filter random-bytes seed ${seed} (replay with WG_TEST_SEED=${seed})`);
    for (let run = 0; run < 2000; run++) {
      const f = new ModbusRequestFilter();
      // Mostly-valid headers so frames get through the checks, with random PDUs.
      const bytes = Buffer.alloc(1 + Math.floor(rand() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
      if (rand() < 0.7 && bytes.length >= 7) {
        bytes.writeUInt16BE(0, 2);
        bytes.writeUInt16BE(2 + Math.floor(rand() * 20), 4);
      }
      const out = f.push(bytes);
      for (const o of out) if (o.kind === 'forward') expect(isReadOnlyRequest(o.frame.subarray(7))).toBe(true);
    }
  });
});
