import { describe, expect, it } from 'vitest';
import type { AccessLogEntry } from './access-log.js';
import { createAccessLogWriter } from './access-log-writer.js';

const entry = (i: number): AccessLogEntry => ({
  at: new Date(0), serial: `an${i}`, userId: null, clientIp: '192.0.2.1', method: 'GET', path: `/${i}`, status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1,
});

describe('access log writer', () => {
  it('writes in batches, keeps entries while the database fails, and bounds the queue', async () => {
    const written: string[][] = [];
    let down = false;
    const writer = createAccessLogWriter(
      async (batch) => {
        if (down) throw new Error('database down');
        written.push(batch.map((e) => e.path));
      },
      { maxQueue: 5, maxBatch: 2, flushIntervalMs: 0 },
    );
    for (let i = 0; i < 3; i++) writer.record(entry(i));
    await writer.flush();
    expect(written).toEqual([['/0', '/1'], ['/2']]);
    down = true;
    for (let i = 3; i < 10; i++) writer.record(entry(i));
    await writer.flush();
    expect(writer.stats()).toEqual({ queued: 5, written: 3, dropped: 2, failedFlushes: 1 });
    down = false;
    await writer.close();
    expect(written.slice(2)).toEqual([['/3', '/4'], ['/5', '/6'], ['/7']]);
    expect(writer.stats()).toMatchObject({ queued: 0, written: 8, dropped: 2 });
  });

  it('runs one flush at a time', async () => {
    let calls = 0;
    let release!: () => void;
    const writer = createAccessLogWriter(
      () => {
        calls++;
        return new Promise<void>((r) => (release = r));
      },
      { flushIntervalMs: 0 },
    );
    writer.record(entry(1));
    const a = writer.flush();
    const b = writer.flush();
    expect(a).toBe(b);
    release();
    await a;
    expect(calls).toBe(1);
  });
});
