// The reassembly buffer, the SACK scoreboard and the send buffer against naive twins (byte maps
// and sets), with random operations from a printed seed.
import { describe, expect, it } from 'vitest';
import { Prng } from '../testing/prng.js';
import { RecvBuffer } from './recv-buffer.js';
import { SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';

describe('RecvBuffer (reassembly) against a byte map', () => {
  it('reassembles random overlapping out-of-order segments exactly', () => {
    const prng = Prng.printed(501);
    const stream = Buffer.from(prng.bytes(200_000));
    const buf = new RecvBuffer({ capacity: 1 << 20, maxOooRanges: 1 << 20, maxOooChunks: 1 << 20 });
    let rcvNxt = 0;
    const out: Buffer[] = [];
    const held = new Set<number>(); // naive twin: byte offsets held out of order
    for (let step = 0; step < 20_000 && rcvNxt < stream.length; step++) {
      const start = rcvNxt + prng.int(8000) - 500;
      const len = 1 + prng.int(1500);
      const s = Math.max(start, rcvNxt);
      const e = Math.min(start + len, stream.length);
      if (e <= s) continue;
      if (s === rcvNxt) {
        buf.appendInOrder(stream.subarray(s, e));
        rcvNxt = buf.drain(e);
        for (const b of [...held]) if (b < rcvNxt) held.delete(b);
      } else {
        expect(buf.insertOutOfOrder(s, stream.subarray(s, e))).toBe(true);
        for (let b = s; b < e; b++) held.add(b);
      }
      // The twin's held bytes are exactly the SACK ranges.
      const blocks = buf.sackBlocks(1 << 20);
      let covered = 0;
      for (let i = 0; i < blocks.length; i += 2) covered += blocks[i + 1]! - blocks[i]!;
      expect(covered).toBe(held.size);
      expect(buf.oooBytes).toBe(held.size);
      if (prng.next() < 0.3) for (let c = buf.read(prng.int(5000) + 1); c; c = buf.read()) out.push(c);
    }
    for (let c = buf.read(); c; c = buf.read()) out.push(c);
    const got = Buffer.concat(out);
    expect(got.length).toBe(rcvNxt);
    expect(got.equals(stream.subarray(0, rcvNxt))).toBe(true);
    expect(buf.queuedBytes).toBe(0);
  });

  it('drops segments beyond its hole and piece limits instead of growing', () => {
    const buf = new RecvBuffer({ capacity: 1 << 20, maxOooRanges: 4, maxOooChunks: 6 });
    for (let i = 0; i < 4; i++) expect(buf.insertOutOfOrder(1000 * (i + 1), Buffer.alloc(10))).toBe(true);
    expect(buf.insertOutOfOrder(9000, Buffer.alloc(10))).toBe(false); // a fifth hole
    expect(buf.insertOutOfOrder(1010, Buffer.alloc(10))).toBe(true); // extends a range
    expect(buf.insertOutOfOrder(2010, Buffer.alloc(10))).toBe(true);
    expect(buf.insertOutOfOrder(3010, Buffer.alloc(10))).toBe(false); // seventh piece
    expect(buf.sackBlocks(4)).toEqual([2000, 2020, 4000, 4010, 3000, 3010, 1000, 1020]);
  });
});

describe('SackScoreboard against a set of sequence numbers', () => {
  it('tracks random SACK blocks and cumulative ACKs', () => {
    const prng = Prng.printed(502);
    const sb = new SackScoreboard();
    const twin = new Set<number>();
    let una = 0;
    for (let step = 0; step < 3000; step++) {
      if (prng.next() < 0.2) {
        una += prng.int(300);
        sb.advance(una);
        for (const x of [...twin]) if (x < una) twin.delete(x);
      } else {
        const s = una + prng.int(2000);
        const e = s + 1 + prng.int(200);
        sb.add(s, e);
        for (let x = s; x < e; x++) twin.add(x);
      }
      expect(sb.sackedBytes).toBe(twin.size);
      const a = una + prng.int(2000);
      const b = a + prng.int(500);
      let inside = 0;
      for (let x = a; x < b; x++) if (twin.has(x)) inside++;
      expect(sb.sackedIn(a, b)).toBe(inside);
      let next = a;
      while (twin.has(next)) next++;
      expect(sb.nextUnsacked(a)).toBe(next);
      expect(sb.highest).toBe(twin.size === 0 ? -1 : Math.max(...twin) + 1);
    }
  });
});

describe('SendBuffer', () => {
  it('keeps bytes from SND.UNA across block boundaries and honours its capacity', () => {
    const prng = Prng.printed(503);
    const stream = Buffer.from(prng.bytes(1_000_000));
    const sb = new SendBuffer(200_000);
    let written = 0;
    let acked = 0;
    while (acked < stream.length) {
      written += sb.append(stream.subarray(written, Math.min(stream.length, written + prng.int(100_000))));
      expect(sb.length).toBeLessThanOrEqual(200_000);
      const off = acked + prng.int(Math.max(1, written - acked));
      const len = Math.min(prng.int(3000), written - off);
      const out = Buffer.alloc(len);
      sb.copyOut(off, len, out, 0);
      expect(out.equals(stream.subarray(off, off + len))).toBe(true);
      acked = Math.min(written, acked + prng.int(150_000));
      sb.consume(acked);
      expect(sb.start).toBe(acked);
    }
    expect(sb.length).toBe(0);
  });
});
