// The control channel's client and server over loopback sockets: the source check comes first
// (refused sockets get no answer), then path, method, size and schema; handlers' answers and
// failures map to 200/204/500; the client parses the answer and gives up after its timeout.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_CONTROL_BODY_BYTES, agentReportSchema, createControlServer, postControl, route, windowEndedSchema } from './index.js';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function serve(accept: (address: string) => boolean, seen: unknown[] = []) {
  const control = createControlServer({
    accept,
    handlers: {
      report: route(agentReportSchema, (r) => {
        seen.push(r);
        return { maxExposureHours: 8 };
      }),
      'window-ended': route(windowEndedSchema, () => {
        throw new Error('database down');
      }),
    },
  });
  const server = net.createServer((s) => control.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => {
    control.close();
    server.close();
  });
  const port = (server.address() as net.AddressInfo).port;
  const dial = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  const raw = async (request: string) => {
    const s = await dial();
    return new Promise<string>((resolve) => {
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.end(request);
    });
  };
  return { dial, raw, seen };
}

const report = { agentVersion: '1.0', exposure: { until: '2026-12-05T10:00:00.000Z' } };

describe('control channel client and server', () => {
  it('answers an accepted peer with the handler result, parsed by the client', async () => {
    const { dial, seen } = await serve((a) => a === '127.0.0.1');
    const reply = await postControl(await dial(), '127.0.0.1', 'report', report);
    expect(reply).toEqual({ status: 200, body: { maxExposureHours: 8 } });
    expect(seen).toEqual([report]);
    const failed = await postControl(await dial(), '127.0.0.1', 'window-ended', { endedAt: '2026-12-05T10:00:00.000Z' });
    expect(failed).toEqual({ status: 500, body: { error: { code: 'failed', message: 'window-ended could not be handled' } } });
  });

  it('closes a refused source unanswered, before reading a byte', async () => {
    const { dial, seen } = await serve(() => false);
    await expect(postControl(await dial(), 'x', 'report', report)).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(seen).toEqual([]);
  });

  it('refuses unknown messages, other methods, bad JSON, schema misfits and oversize bodies, changing nothing', async () => {
    const { raw, seen } = await serve(() => true);
    const post = (path: string, body: string) => raw(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    expect(await post('/control/v1/nope', '{}')).toMatch(/^HTTP\/1\.1 404[\s\S]*"unknown_message"/);
    expect(await post('/control/v1/__proto__', '{}')).toMatch(/^HTTP\/1\.1 404/);
    expect(await raw('GET /control/v1/report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 405/);
    expect(await post('/control/v1/report', '{"agentVersion":')).toMatch(/^HTTP\/1\.1 400[\s\S]*"invalid_json"/);
    expect(await post('/control/v1/report', JSON.stringify({ ...report, exposure: { until: 'tomorrow' } }))).toMatch(/^HTTP\/1\.1 400[\s\S]*report: exposure\.until/);
    expect(await post('/control/v1/report', JSON.stringify({ ...report, agentVersion: 'x'.repeat(MAX_CONTROL_BODY_BYTES) }))).toMatch(/^HTTP\/1\.1 413/);
    expect(seen).toEqual([]);
  });

  it('gives up on a peer that never answers', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    closers.push(() => silent.close());
    const s = net.connect((silent.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    await expect(postControl(s, 'x', 'report', report, 200)).rejects.toThrow('control: no answer to report within 200 ms');
    expect(s.destroyed).toBe(true);
  });
});
