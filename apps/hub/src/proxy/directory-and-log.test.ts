import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Counter, Registry, metricValue } from '../ops/metrics.js';
import { createBatchingAccessLog } from './batching-access-log.js';
import type { AccessLogEntry, DeviceRoute } from './contracts.js';
import { createCachedDirectory } from './device-directory.js';
import { clientInfo, requestHeadersForDevice, rewriteSetCookie, stripHubCookies } from './forward-headers.js';

const row = (serial: string, status: DeviceRoute['status'] = 'enabled'): DeviceRoute => ({
  id: `id-${serial}`,
  serial,
  tunnelIp: '100.64.0.9',
  status,
  accessPolicy: 'owners',
  online: true,
  lastSeenAt: null,
});

describe('cached device directory', () => {
  it('serves from memory within the TTL, reloads after it, and drops on invalidate', async () => {
    let now = 0;
    let loads = 0;
    let status: DeviceRoute['status'] = 'enabled';
    const dir = createCachedDirectory({ load: async (s) => (loads++, row(s, status)), ttlMs: 1000, now: () => now });
    expect((await dir.findBySerial('an1'))!.status).toBe('enabled');
    expect((await dir.findBySerial('an1'))!.status).toBe('enabled');
    expect(loads).toBe(1);
    status = 'disabled';
    dir.invalidate('an1');
    expect((await dir.findBySerial('an1'))!.status).toBe('disabled');
    expect(loads).toBe(2);
    now = 1000;
    await dir.findBySerial('an1');
    expect(loads).toBe(3);
  });

  it('collapses concurrent loads and remembers "no such device" briefly', async () => {
    let now = 0;
    let loads = 0;
    const dir = createCachedDirectory({ load: async () => (loads++, undefined), negativeTtlMs: 100, now: () => now });
    const results = await Promise.all([dir.findBySerial('x'), dir.findBySerial('x'), dir.findBySerial('x')]);
    expect(results).toEqual([undefined, undefined, undefined]);
    expect(loads).toBe(1);
    now = 100;
    await dir.findBySerial('x');
    expect(loads).toBe(2);
  });

  it('keeps serving a stale row while the database is down, and throws only with nothing cached', async () => {
    let now = 0;
    let down = false;
    const errors: string[] = [];
    const dir = createCachedDirectory({
      load: async (s) => {
        if (down) throw new Error('connection refused');
        return row(s);
      },
      ttlMs: 10,
      now: () => now,
      onLoadError: (s) => errors.push(s),
    });
    await dir.findBySerial('an1');
    down = true;
    now = 1000;
    expect((await dir.findBySerial('an1'))!.serial).toBe('an1');
    await expect(dir.findBySerial('an2')).rejects.toThrow('connection refused');
    expect(errors).toEqual(['an1', 'an2']);
  });

  it('answers with the stale row when the database is slow to fail (NAT lab: a request held 5 s)', async () => {
    let now = 0;
    let hang = false;
    const dir = createCachedDirectory({
      load: (s) => (hang ? new Promise(() => {}) : Promise.resolve(row(s))),
      ttlMs: 10,
      staleWaitMs: 20,
      now: () => now,
    });
    await dir.findBySerial('an1');
    hang = true;
    now = 1000;
    const t0 = Date.now();
    expect((await dir.findBySerial('an1'))!.serial).toBe('an1');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('does not let a load that started before invalidate write back its stale row', async () => {
    let release: (r: DeviceRoute) => void = () => {};
    let calls = 0;
    const dir = createCachedDirectory({
      load: (s) => {
        calls++;
        if (calls === 1) return new Promise((r) => (release = r));
        return Promise.resolve(row(s, 'disabled'));
      },
    });
    const stale = dir.findBySerial('an1');
    dir.invalidate('an1');
    const fresh = await dir.findBySerial('an1');
    release(row('an1', 'enabled'));
    await stale;
    expect(fresh!.status).toBe('disabled');
    expect((await dir.findBySerial('an1'))!.status).toBe('disabled');
  });
});

describe('batching access log', () => {
  const entry = (i: number): AccessLogEntry => ({
    at: new Date(0),
    requestId: `r${i}`,
    deviceId: 'd',
    serial: 'an1',
    userId: null,
    clientIp: '127.0.0.1',
    method: 'GET',
    path: '/',
    status: 200,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 1,
    kind: 'http',
  });

  it('writes in batches, keeps entries while the writer fails, drops the oldest beyond the bound', async () => {
    const written: string[] = [];
    let failing = true;
    const counter = new Counter({ name: 'log_total', help: 'x', labelNames: ['outcome'], registers: [new Registry()] });
    const log = createBatchingAccessLog({
      batchSize: 2,
      maxQueue: 3,
      flushIntervalMs: 60_000,
      counter,
      write: async (batch) => {
        if (failing) throw new Error('database down');
        written.push(...batch.map((e) => e.requestId));
      },
    });
    for (let i = 0; i < 5; i++) log.record(entry(i));
    await log.flush();
    expect(written).toEqual([]);
    expect(log.queued).toBe(3);
    expect(log.dropped).toBe(2);
    failing = false;
    await log.close();
    expect(written).toEqual(['r2', 'r3', 'r4']);
    expect(await metricValue(counter, { outcome: 'written' })).toBe(3);
    expect(await metricValue(counter, { outcome: 'dropped' })).toBe(2);
    // record() after close is a no-op, never a throw.
    expect(() => log.record(entry(9))).not.toThrow();
  });

  it('lets other work run between the batches of one flush (the embedded database blocks the loop while it inserts)', async () => {
    const events: string[] = [];
    const log = createBatchingAccessLog({
      batchSize: 2,
      flushIntervalMs: 60_000,
      write: async (batch) => {
        events.push(`write ${batch.length}`);
      },
    });
    for (let i = 0; i < 6; i++) log.record(entry(i));
    // Network I/O arriving meanwhile stands for every other request the hub is serving.
    setImmediate(() => events.push('io'));
    await log.close();
    expect(events.filter((e) => e.startsWith('write'))).toEqual(['write 2', 'write 2', 'write 2']);
    expect(events.slice(0, events.lastIndexOf('write 2'))).toContain('io');
  });
});

describe('forward headers', () => {
  const fakeReq = (remote: string, headers: Record<string, string | string[]>, raw: string[] = []) =>
    ({
      socket: { remoteAddress: remote },
      headers,
      headersDistinct: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
      rawHeaders: raw,
    }) as unknown as IncomingMessage;

  it('ignores client X-Forwarded-* unless the proxy is trusted, then takes the hop before it', () => {
    const req = fakeReq('::ffff:10.0.0.5', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7', 'x-forwarded-proto': 'https' });
    expect(clientInfo(req, 0, false)).toEqual({ ip: '10.0.0.5', proto: 'http', forwardedFor: '10.0.0.5' });
    expect(clientInfo(req, 1, false)).toEqual({ ip: '203.0.113.7', proto: 'https', forwardedFor: '6.6.6.6, 203.0.113.7, 10.0.0.5' });
    expect(clientInfo(req, 2, false).ip).toBe('6.6.6.6');
    // Unparsable or missing entries fall back to the socket address (authentik CVE-2024-47070).
    expect(clientInfo(fakeReq('10.0.0.5', { 'x-forwarded-for': 'a' }), 1, false).ip).toBe('10.0.0.5');
    expect(clientInfo(fakeReq('10.0.0.5', {}), 1, false).ip).toBe('10.0.0.5');
    expect(clientInfo(fakeReq('10.0.0.5', { 'x-forwarded-proto': 'gopher' }), 1, true).proto).toBe('https');
  });

  it('strips hub cookies by name, case-insensitively, keeping the rest in order', () => {
    expect(stripHubCookies(['a=1; porthole_device=x', 'PORTHOLE_SESSION=y; __Host-porthole_session=z; __Secure-porthole-csrf=w; b=2'])).toBe('a=1; b=2');
  });

  it('rewrites Set-Cookie to host-only', () => {
    expect(rewriteSetCookie('a=1; Domain=example.io; Path=/; Secure')).toBe('a=1; Path=/; Secure');
    expect(rewriteSetCookie('a=1;domain=.example.io')).toBe('a=1');
    expect(rewriteSetCookie('a=1; Path=/domain')).toBe('a=1; Path=/domain');
    expect(rewriteSetCookie('porthole_device=1; Path=/')).toBeUndefined();
  });

  it('drops headers named in Connection and internal X-Porthole-* headers', () => {
    const raw = ['Host', 'h', 'Connection', 'close, X-Drop', 'X-Drop', '1', 'X-Porthole-User', 'admin', 'Accept', '*/*'];
    const req = fakeReq('127.0.0.1', { host: 'h' }, raw);
    const out = requestHeadersForDevice(req, { host: 'an1.d', client: { ip: '127.0.0.1', proto: 'http', forwardedFor: '127.0.0.1' }, dropAuthorization: true });
    expect(out).toEqual(['Host', 'an1.d', 'Accept', '*/*', 'X-Forwarded-For', '127.0.0.1', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'an1.d']);
  });
});
