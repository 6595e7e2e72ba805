import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRoute } from './contracts.js';
import { DeviceAgent, type DeviceRequestArgs, asSocketLike } from './device-agent.js';
import { createLoopbackDialer } from './loopback-dialer.js';

const device: DeviceRoute = { id: 'd1', serial: 'an1', tunnelIp: '100.64.0.2', status: 'enabled', accessPolicy: 'public', online: true, lastSeenAt: null };

describe('DeviceAgent', () => {
  let server: http.Server;
  let port = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('x'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const get = (agent: DeviceAgent, poolKey: string) =>
    new Promise<void>((resolve, reject) => {
      const args: DeviceRequestArgs = { agent, device, poolKey, host: device.tunnelIp, port: 80, path: '/' };
      const req = http.request(args, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });

  it('reuses one connection per visitor pool without accumulating listeners', async () => {
    const dialer = createLoopbackDialer(() => ({ host: '127.0.0.1', port }));
    const agent = new DeviceAgent({ dialer, dialTimeoutMs: 1000 });
    try {
      for (let i = 0; i < 25; i++) await get(agent, 'alice');
      await new Promise((r) => setImmediate(r));
      expect(dialer.dials).toBe(1);
      const [socket] = Object.values(agent.freeSockets).flat();
      // Node's free-socket listener plus the dialer's own: not one per request.
      expect(socket!.listenerCount('error')).toBeLessThanOrEqual(2);
      // A different visitor never shares that connection.
      await get(agent, 'bob');
      expect(dialer.dials).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('gives a plain Duplex the socket methods node:http calls, with an idle timer', async () => {
    const duplex = asSocketLike(new PassThrough()) as PassThrough & { setTimeout(ms: number, cb?: () => void): void; setNoDelay(): void };
    expect(() => duplex.setNoDelay()).not.toThrow();
    const fired = new Promise<void>((r) => duplex.setTimeout(10, r));
    await fired;
    duplex.destroy();
  });
});
