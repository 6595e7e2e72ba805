// The device connection pool through node:http: reuse, sizing to concurrency, late dials, the spare
// limit, idle close, single-use exchanges, dial failures and the partitions. Dials are counted by
// the dialer and cross-checked with the connections the local "device" server accepted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import { seededRandom } from '@porthole/wireguard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceDialer, DeviceRoute } from './contracts.js';
import { DeviceAgent, type DeviceAgentOptions, type DeviceRequestArgs, DialFailedError, asSocketLike, poolPartition, singleUseExchange } from './device-agent.js';
import { createLoopbackDialer } from './loopback-dialer.js';

const device: DeviceRoute = { id: 'd1', serial: 'an1', tunnelIp: '100.64.0.2', status: 'enabled', accessPolicy: 'public', online: true, lastSeenAt: null };

describe('DeviceAgent', () => {
  let server: http.Server;
  let port = 0;
  let accepted = 0;
  /** Requests to /hold wait here until the test answers them. */
  const held: http.ServerResponse[] = [];
  let heldChanged: () => void = () => {};
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/hold') {
        held.push(res);
        heldChanged();
        return;
      }
      if (req.url === '/short-keepalive') res.setHeader('keep-alive', 'timeout=1');
      res.end('x');
    });
    server.on('connection', () => accepted++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const untilHeld = async (n: number) => {
    while (held.length < n) await new Promise<void>((r) => (heldChanged = r));
  };
  const answerHeld = () => {
    for (const res of held.splice(0)) res.end('held');
  };
  const tick = () => new Promise((r) => setImmediate(r));

  function request(agent: DeviceAgent, path = '/', extra: Partial<DeviceRequestArgs> = {}): Promise<{ body: string; reused: boolean }> {
    return new Promise((resolve, reject) => {
      const args: DeviceRequestArgs = { agent, device, partition: 'public', host: device.tunnelIp, port: 80, path, ...extra };
      const req = http.request(args, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ body, reused: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** A loopback dialer whose dials can be held back and completed by the test. */
  function controlledDialer() {
    const inner = createLoopbackDialer(() => ({ host: '127.0.0.1', port }));
    const pending: Array<() => void> = [];
    const d = {
      hold: false,
      get dials() {
        return inner.dials;
      },
      pending,
      dial(dev: DeviceRoute, p: number, signal?: AbortSignal): Promise<Duplex> {
        if (!d.hold) return inner.dial(dev, p, signal);
        return new Promise((resolve, reject) => pending.push(() => inner.dial(dev, p, signal).then(resolve, reject)));
      },
      completeOne() {
        pending.shift()!();
      },
    };
    return d;
  }

  function makeAgent(options: Partial<DeviceAgentOptions> = {}) {
    const dialer = controlledDialer();
    const agent = new DeviceAgent({ dialer, dialTimeoutMs: 2_000, ...options });
    return { dialer, agent };
  }

  it('serves N sequential keep-alive requests over one connection without accumulating listeners', async () => {
    const { dialer, agent } = makeAgent();
    const before = accepted;
    try {
      const results = [];
      for (let i = 0; i < 25; i++) results.push(await request(agent));
      await tick();
      expect(dialer.dials).toBe(1);
      expect(accepted - before).toBe(1);
      expect(results.filter((r) => r.reused)).toHaveLength(24);
      expect(agent.counters.reuses).toBe(24);
      const [pool] = agent.stats();
      expect(pool).toMatchObject({ busy: 0, idle: 1, dialing: 0, waiting: 0 });
    } finally {
      agent.destroy();
    }
  });

  it('never opens more connections than requests run at once (seeded bursts)', async () => {
    const seed = Number(process.env.PORTHOLE_TEST_SEED ?? Date.now() % 1_000_000);
    console.log(`device pool burst seed ${seed} (PORTHOLE_TEST_SEED=${seed} to replay)`);
    const rand = seededRandom(seed);
    const { dialer, agent } = makeAgent({ maxSocketsPerPool: 8 });
    const before = accepted;
    let peak = 0;
    try {
      for (let burst = 0; burst < 12; burst++) {
        // n requests issued at once: at most n (and the pool's limit) connections may exist after it.
        const n = 1 + Math.floor(rand() * 10);
        peak = Math.max(peak, Math.min(n, 8));
        await Promise.all(Array.from({ length: n }, () => request(agent)));
        expect(dialer.dials).toBeLessThanOrEqual(peak);
        expect(accepted - before).toBe(dialer.dials);
        const open = agent.stats().reduce((sum, p) => sum + p.busy + p.idle + p.dialing, 0);
        expect(open).toBeLessThanOrEqual(peak);
      }
    } finally {
      answerHeld();
      agent.destroy();
    }
  });

  it('lets a waiting request take a released connection; the late dial stays as a spare', async () => {
    const { dialer, agent } = makeAgent();
    try {
      const first = request(agent, '/hold');
      await untilHeld(1);
      dialer.hold = true;
      // A second request finds the only connection busy: its dial is held back.
      const second = request(agent, '/hold');
      while (dialer.pending.length === 0) await tick();
      expect(agent.stats()[0]).toMatchObject({ busy: 1, dialing: 1, waiting: 1 });
      // The first exchange ends: its connection goes to the waiting request at once.
      answerHeld();
      await first;
      await untilHeld(1);
      expect(agent.stats()[0]).toMatchObject({ busy: 1, dialing: 1, waiting: 0 });
      answerHeld();
      expect((await second).reused).toBe(true);
      // The dial completes with nobody waiting: kept as a spare, not thrown away.
      dialer.completeOne();
      while (agent.counters.lateDials === 0) await tick();
      expect(agent.stats()[0]).toMatchObject({ busy: 0, idle: 2, dialing: 0 });
      dialer.hold = false;
      // Two requests at once now need no dial.
      await Promise.all([request(agent), request(agent)]);
      expect(dialer.dials).toBe(2);
    } finally {
      answerHeld();
      agent.destroy();
    }
  });

  it('closes connections beyond the spare limit when they are released', async () => {
    const { dialer, agent } = makeAgent({ maxIdlePerPool: 1 });
    try {
      const all = [request(agent, '/hold'), request(agent, '/hold'), request(agent, '/hold')];
      await untilHeld(3);
      expect(dialer.dials).toBe(3);
      answerHeld();
      await Promise.all(all);
      while (agent.counters.overSpareLimit < 2) await tick();
      expect(agent.stats()[0]).toMatchObject({ busy: 0, idle: 1 });
      await request(agent);
      expect(dialer.dials).toBe(3);
    } finally {
      agent.destroy();
    }
  });

  it('closes an idle connection after its idle time, and dials again afterwards', async () => {
    const { dialer, agent } = makeAgent({ idleTimeoutMs: 20 });
    try {
      await request(agent);
      await new Promise<void>((resolve) => {
        const poll = () => (agent.counters.idleClosed > 0 && agent.stats().length === 0 ? resolve() : setTimeout(poll, 5));
        poll();
      });
      await request(agent);
      expect(dialer.dials).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it("does not keep a connection the device's Keep-Alive hint says it is about to close", async () => {
    const { dialer, agent } = makeAgent();
    try {
      await request(agent, '/short-keepalive');
      await request(agent, '/short-keepalive');
      expect(dialer.dials).toBe(2);
      expect(agent.counters.reuses).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  it('closes a single-use connection after its exchange, and does not hand it to a waiting request', async () => {
    const { dialer, agent } = makeAgent({ maxSocketsPerPool: 1 });
    try {
      const once = request(agent, '/hold', { singleUse: true });
      await untilHeld(1);
      const next = request(agent);
      answerHeld();
      await Promise.all([once, next]);
      expect(dialer.dials).toBe(2);
      expect((await next).reused).toBe(false);
    } finally {
      agent.destroy();
    }
  });

  it('fails a waiting request when its dial fails, but not when another connection served it', async () => {
    let refuse = true;
    const dialer: DeviceDialer = {
      dial: (dev, p, signal) => (refuse ? Promise.reject(new Error('connect ECONNREFUSED')) : createLoopbackDialer(() => ({ host: '127.0.0.1', port })).dial(dev, p, signal)),
    };
    const agent = new DeviceAgent({ dialer, dialTimeoutMs: 2_000 });
    try {
      await expect(request(agent)).rejects.toBeInstanceOf(DialFailedError);
      expect(agent.stats()).toHaveLength(0);
      refuse = false;
      await request(agent);
      expect(agent.counters.dialFailures).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('keeps one pool for every visitor of a public device and one per user of an owners device', async () => {
    const owners: DeviceRoute = { ...device, accessPolicy: 'owners' };
    expect(poolPartition(device, null, '192.0.2.1')).toBe(poolPartition(device, null, '192.0.2.2'));
    expect(poolPartition(device, 'alice', '192.0.2.1')).toBe(poolPartition(device, null, '192.0.2.2'));
    expect(poolPartition(owners, 'alice', '192.0.2.1')).not.toBe(poolPartition(owners, 'bob', '192.0.2.1'));

    const { dialer, agent } = makeAgent();
    try {
      await request(agent, '/', { device: owners, partition: poolPartition(owners, 'alice', '192.0.2.1') });
      await request(agent, '/', { device: owners, partition: poolPartition(owners, 'alice', '192.0.2.1') });
      expect(dialer.dials).toBe(1);
      await request(agent, '/', { device: owners, partition: poolPartition(owners, 'bob', '192.0.2.1') });
      expect(dialer.dials).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('makes an exchange single-use on a shared pool when it has a body or connection-bound auth', () => {
    expect(singleUseExchange('public', false, undefined)).toBe(false);
    expect(singleUseExchange('public', false, 'Basic dTpw')).toBe(false);
    expect(singleUseExchange('public', true, undefined)).toBe(true);
    expect(singleUseExchange('public', false, 'NTLM TlRMTVNTUAADAAAA')).toBe(true);
    expect(singleUseExchange('public', false, 'negotiate YIIG')).toBe(true);
    expect(singleUseExchange('user:alice', true, 'NTLM TlRMTVNTUAADAAAA')).toBe(false);
  });

  it('closes idle and busy connections on destroy', async () => {
    const { agent } = makeAgent();
    const busy = request(agent, '/hold').catch((err: Error) => err);
    await untilHeld(1);
    await request(agent).catch(() => undefined);
    agent.destroy();
    expect(await busy).toBeInstanceOf(Error);
    held.splice(0);
    while (agent.stats().some((p) => p.busy + p.idle > 0)) await tick();
  });

  it('gives a plain Duplex the socket methods node:http calls, with an idle timer', async () => {
    const duplex = asSocketLike(new PassThrough()) as PassThrough & { setTimeout(ms: number, cb?: () => void): void; setNoDelay(): void };
    expect(() => duplex.setNoDelay()).not.toThrow();
    const fired = new Promise<void>((r) => duplex.setTimeout(10, r));
    await fired;
    duplex.destroy();
  });
});
