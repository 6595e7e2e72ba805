// Reconnect behaviour with a fake clock: exponential backoff with jitter inside its bounds, the hub
// host re-resolved on every attempt, recovery after the tunnel reports failure, after a handshake
// that never comes, and after a session that went stale (hub restarted).
import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '@porthole/wireguard';
import { memoryLogger } from '../log/logger.js';
import { testRegistration } from '../testing/fixtures.js';
import { FakeTimers } from '../testing/fake-timers.js';
import { until } from '../testing/servers.js';
import { backoffDelayMs } from './backoff.js';
import { createFakeTunnelNetwork } from '../testing/fake-tunnel.js';
import { HubEndpoints } from './hub-endpoints.js';
import { HANDSHAKE_DEADLINE_MS, MOVE_DRAIN_MS, STALE_SESSION_MS, TunnelSupervisor } from './supervisor.js';

const registration = testRegistration({ tunnelIp: '100.64.0.9', hub: { endpoint: 'hub.test:51820' } });

function setup(seed: number) {
  const timers = new FakeTimers(Date.UTC(2026, 10, 22), seed);
  const network = createFakeTunnelNetwork(timers.now);
  const resolved: string[] = [];
  let address = '192.0.2.10';
  const logger = memoryLogger();
  const sup = new TunnelSupervisor({
    factory: network.factory,
    timers,
    logger,
    resolve: async (host) => {
      resolved.push(host);
      return address;
    },
    params: () => ({ privateKey: generatePrivateKey(), registration, tai64n: () => new Uint8Array(12), logger }),
  });
  return { timers, network, sup, resolved, logger, setAddress: (a: string) => (address = a) };
}

describe('backoffDelayMs', () => {
  it('doubles up to the cap with half the delay random', () => {
    for (const r of [0, 0.5, 0.999]) {
      expect(backoffDelayMs(0, () => r)).toBe(Math.round(500 + r * 500));
      expect(backoffDelayMs(3, () => r)).toBe(Math.round(4000 + r * 4000));
      expect(backoffDelayMs(20, () => r)).toBe(Math.round(30000 + r * 30000));
    }
  });
});

describe('TunnelSupervisor', () => {
  it('retries failed attempts with growing jittered delays, re-resolving the hub each time', async () => {
    const seed = 7;
    console.log(`supervisor seed=${seed}`);
    const { timers, network, sup, resolved } = setup(seed);
    network.failNext(4);
    sup.start();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      await until(() => sup.status().state === 'backoff' && timers.pending().length > 0);
      expect(sup.status().attempts).toBe(i + 1);
      const wait = sup.status().nextRetryAtMs! - timers.now();
      delays.push(wait);
      timers.advance(wait);
      if (i < 3) await until(() => sup.status().state === 'backoff' && sup.status().attempts === i + 2);
    }
    await until(() => sup.status().state === 'online');
    delays.forEach((d, i) => {
      const ceiling = 1000 * 2 ** i;
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    });
    expect(resolved).toEqual(Array(5).fill('hub.test'));
    expect(sup.status().attempts).toBe(0);
    expect(sup.status().endpoint).toBe('192.0.2.10:51820');
    await sup.stop();
  });

  it('comes back after the tunnel reports down, at a new address, with the attempt count reset', async () => {
    const { timers, network, sup, setAddress } = setup(11);
    sup.start();
    await until(() => sup.status().state === 'online');
    const first = network.current()!;
    setAddress('192.0.2.99');
    first.emit({ type: 'down', reason: 'EHOSTUNREACH' });
    expect(first.closed).toBe(true);
    expect(sup.status().state).toBe('backoff');
    expect(sup.status().lastError).toBe('EHOSTUNREACH');
    timers.advance(sup.status().nextRetryAtMs! - timers.now());
    await until(() => sup.status().state === 'online');
    expect(network.tunnels).toHaveLength(2);
    expect(sup.status().endpoint).toBe('192.0.2.99:51820');
    await sup.stop();
    expect(network.current()).toBeUndefined();
  });

  it('gives up on a tunnel whose handshake never completes', async () => {
    const { timers, network, sup } = setup(3);
    network.autoHandshake = false;
    sup.start();
    await until(() => network.tunnels.length === 1 && timers.pending().includes(HANDSHAKE_DEADLINE_MS));
    timers.advance(HANDSHAKE_DEADLINE_MS);
    expect(sup.status().state).toBe('backoff');
    expect(sup.status().lastError).toBe('no handshake with the hub within 30 s');
    expect(network.tunnels[0]!.closed).toBe(true);
    network.autoHandshake = true;
    timers.advance(sup.status().nextRetryAtMs! - timers.now());
    await until(() => sup.status().state === 'online');
    await sup.stop();
  });

  it('replaces a session that went stale (hub restarted and lost it)', async () => {
    const { timers, network, sup } = setup(5);
    sup.start();
    await until(() => sup.status().state === 'online');
    // Rekeys keep coming while the hub is alive…
    for (let t = 0; t < 3; t++) {
      timers.advance(120_000);
      network.current()!.emit({ type: 'handshake', atMs: timers.now() });
    }
    expect(network.tunnels).toHaveLength(1);
    // …then none: the watchdog notices within one check interval after the limit.
    timers.advance(STALE_SESSION_MS + 10_000);
    expect(sup.status().state).toBe('backoff');
    expect(sup.status().lastError).toMatch(/^no handshake for \d+ s$/);
    timers.advance(sup.status().nextRetryAtMs! - timers.now());
    await until(() => sup.status().state === 'online');
    expect(network.tunnels).toHaveLength(2);
    await sup.stop();
  });
});

describe('TunnelSupervisor in a cluster (several hub endpoints)', () => {
  function clusterSetup(seed: number) {
    const timers = new FakeTimers(Date.UTC(2026, 11, 5), seed);
    const network = createFakeTunnelNetwork(timers.now);
    const logger = memoryLogger();
    const endpoints = new HubEndpoints({
      registered: '192.0.2.1:51820',
      stored: { endpoints: ['192.0.2.1:51820', '192.0.2.2:51820', '192.0.2.3:51820'], current: '192.0.2.1:51820' },
      random: timers.random,
    });
    const sup = new TunnelSupervisor({
      factory: network.factory,
      timers,
      logger,
      endpoints: () => endpoints,
      resolve: async (host) => host,
      params: () => ({ privateKey: generatePrivateKey(), registration, tai64n: () => new Uint8Array(12), logger }),
    });
    const dialled = () => network.tunnels.map((t) => `${t.params.endpoint.address}:${t.params.endpoint.port}`);
    return { timers, network, sup, endpoints, dialled };
  }

  it('moves to another node at once when its node stops answering, and watches liveness there', async () => {
    const { timers, network, sup, dialled } = clusterSetup(21);
    sup.start();
    await until(() => sup.status().state === 'online');
    expect(dialled()).toEqual(['192.0.2.1:51820']);
    // Watched because other nodes are known; the first handshake must be answered too (untried nodes remain).
    expect(network.tunnels[0]!.params.liveness?.watch()).toBe(true);
    expect(network.tunnels[0]!.params.liveness?.beforeFirstAnswer).toBe(true);
    const before = timers.now();
    network.current()!.emit({ type: 'down', reason: 'the hub node did not answer for 5.3 s' });
    // No backoff: the next tunnel is created without any time passing.
    await until(() => sup.status().state === 'online' && network.tunnels.length === 2);
    expect(timers.now()).toBe(before);
    expect(dialled()[1]).not.toBe('192.0.2.1:51820');
    expect(sup.status().attempts).toBe(0);
    await sup.stop();
  });

  it('tries every node once, then backs off, then starts a new round', async () => {
    const { timers, network, sup, dialled } = clusterSetup(22);
    network.autoHandshake = false;
    sup.start();
    for (let n = 1; n <= 3; n++) {
      await until(() => network.tunnels.length === n);
      network.current()!.emit({ type: 'down', reason: 'silent' });
    }
    expect(new Set(dialled())).toEqual(new Set(['192.0.2.1:51820', '192.0.2.2:51820', '192.0.2.3:51820']));
    // The third node's handshake was not watched from the start: no untried node remained.
    expect(network.tunnels[2]!.params.liveness?.beforeFirstAnswer).toBe(false);
    expect(sup.status().state).toBe('backoff');
    expect(sup.status().attempts).toBe(1);
    network.autoHandshake = true;
    timers.advance(sup.status().nextRetryAtMs! - timers.now());
    await until(() => sup.status().state === 'online');
    expect(network.tunnels).toHaveLength(4);
    await sup.stop();
  });

  it("follows the hub's move at once (reconnectNow), keeps the old tunnel a while, and does nothing while stopped", async () => {
    const { timers, network, sup, endpoints, dialled } = clusterSetup(23);
    sup.reconnectNow('nothing to move');
    expect(network.tunnels).toHaveLength(0);
    sup.start();
    await until(() => sup.status().state === 'online');
    endpoints.move('192.0.2.1:51820', ['192.0.2.3:51820']);
    sup.reconnectNow('node 1 is leaving');
    await until(() => sup.status().state === 'online' && network.tunnels.length === 2);
    expect(dialled()).toEqual(['192.0.2.1:51820', '192.0.2.3:51820']);
    // Make before break: the old tunnel still carries what the leaving node has under way…
    expect(network.tunnels[0]!.closed).toBe(false);
    // …and its events no longer move the supervisor.
    network.tunnels[0]!.emit({ type: 'down', reason: 'the leaving node closed' });
    expect(sup.status().state).toBe('online');
    timers.advance(MOVE_DRAIN_MS);
    expect(network.tunnels[0]!.closed).toBe(true);
    expect(network.tunnels[1]!.closed).toBe(false);
    // Stop closes a tunnel still draining too.
    endpoints.move('192.0.2.3:51820', ['192.0.2.2:51820']);
    sup.reconnectNow('node 3 is leaving');
    await until(() => network.tunnels.length === 3);
    await sup.stop();
    expect(network.tunnels.every((t) => t.closed)).toBe(true);
  });

  it('a single endpoint keeps the old behaviour: liveness not watched, failures back off', async () => {
    const { timers, network, sup, endpoints } = clusterSetup(24);
    endpoints.update(['192.0.2.1:51820']);
    sup.start();
    await until(() => sup.status().state === 'online');
    expect(network.tunnels[0]!.params.liveness?.watch()).toBe(false);
    network.current()!.emit({ type: 'down', reason: 'EHOSTUNREACH' });
    expect(sup.status().state).toBe('backoff');
    timers.advance(sup.status().nextRetryAtMs! - timers.now());
    await until(() => sup.status().state === 'online');
    await sup.stop();
  });
});
