// Reconnect when the endpoint changes: a NAT-like UDP relay between agent and hub
// moves the agent's mapping to a new source port mid-session (a NAT rebinding; the old mapping is
// gone). WireGuard roaming makes the hub follow the new port: during a transfer at once (the download
// completes intact), and when idle at the agent's next keepalive, with requests working again after.
// Prints the figures (no timing assertions beyond generous functional timeouts).
import { createHash } from 'node:crypto';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { downloadBytes } from './support/agent-harness.js';
import { until } from './support/hub-harness.js';
import { useRelayedDevice } from './support/relayed-device.js';

const SERIAL = 'an60000001';

const device = useRelayedDevice(SERIAL);

/** The port the hub sends this device's packets to. */
const hubSeesPort = () => device.hub.hub.overlay.wireguard.device.getPeer(device.agent.agent.publicKey)?.endpoint?.port;

describe('endpoint change (NAT rebinding)', () => {
  it('the hub talks to the device through the relay', async () => {
    const { relay, hub, agent } = device;
    expect(agent.agent.status().transport).toBe(`WireGuard/UDP to 127.0.0.1:${relay.port}`);
    expect(relay.outboundPorts()).toHaveLength(1);
    expect(hubSeesPort()).toBe(relay.outboundPorts()[0]);
  });

  it('during a download the hub follows the new source port at once and the transfer completes intact', async () => {
    const { relay, hub, agent } = device;
    const size = 8 * 1024 * 1024;
    const expected = createHash('sha256').update(downloadBytes(size)).digest('hex');
    let rebindAt = 0;
    let moved: Array<{ from: number; to: number }> = [];
    let followedMs: number | undefined;
    let maxGapMs = 0;
    const result = await new Promise<{ status: number; sha256: string; bytes: number }>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: hub.httpPort, path: `/download?bytes=${size}&chunkMs=5`, headers: { host: `${SERIAL}.localhost:${hub.httpPort}` }, agent: false },
        (res) => {
          const hash = createHash('sha256');
          let bytes = 0;
          let last = performance.now();
          res.on('data', (c: Buffer) => {
            const now = performance.now();
            if (rebindAt) maxGapMs = Math.max(maxGapMs, now - last);
            last = now;
            hash.update(c);
            bytes += c.length;
            if (!rebindAt && bytes >= 1024 * 1024) {
              rebindAt = now;
              void relay.rebind().then((m) => {
                moved = m;
                const watch = setInterval(() => {
                  if (hubSeesPort() === m[0]!.to) {
                    followedMs = performance.now() - rebindAt;
                    clearInterval(watch);
                  }
                }, 1);
                res.once('end', () => clearInterval(watch));
              });
            }
          });
          res.on('end', () => resolve({ status: res.statusCode!, sha256: hash.digest('hex'), bytes }));
          res.on('error', reject);
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error('download stalled')));
      req.on('error', reject);
    });
    expect(result).toEqual({ status: 200, sha256: expected, bytes: size });
    expect(moved).toHaveLength(1);
    expect(moved[0]!.to).not.toBe(moved[0]!.from);
    expect(hubSeesPort()).toBe(moved[0]!.to);
    expect(followedMs).toBeDefined();
    console.log(
      `rebind during a download: hub followed ${moved[0]!.from} → ${moved[0]!.to} after ${followedMs!.toFixed(1)} ms; ` +
        `longest gap in the visitor's stream ${Math.round(maxGapMs)} ms; 8 MiB intact`,
    );
  });

  it('when idle, the hub follows at the next packet from the agent; requests work again', async () => {
    const { relay, hub, agent } = device;
    // Idle first: nothing through the relay for 3 s (the download's connection and WireGuard's
    // passive keepalive are done), so only the agent's own timers will send next.
    await until(() => performance.now() - relay.counters.lastForwardAt > 3000, 'an idle tunnel', 30_000, 50);
    const idleForMs = performance.now() - relay.counters.lastForwardAt;
    const [move] = await relay.rebind();
    const t0 = performance.now();
    const toHubBefore = relay.counters.toHub;
    const attempts: string[] = [];
    // A visitor keeps trying; until the hub roams, its packets go to the mapping that no longer exists.
    const served = await until(
      async () => {
        // A pooled connection to the old mapping may swallow a request until the hub roams: a
        // timed-out attempt is one more failed attempt, not the end of the test.
        const r = await hub.request(`${SERIAL}.localhost`, '/after-rebind', { timeoutMs: 10_000 }).catch(() => ({ status: 0, body: '' }));
        attempts.push(String(r.status));
        return r.status === 200 ? r : undefined;
      },
      'a request served after the rebinding',
      45_000,
      250,
    );
    const servedMs = performance.now() - t0;
    expect(served.body).toContain('<p id="path">GET /after-rebind</p>');
    expect(hubSeesPort()).toBe(move!.to);
    expect(agent.agent.status().phase).toBe('online');
    console.log(
      `rebind while idle (link quiet for ${Math.round(idleForMs)} ms before): request served again ${Math.round(servedMs)} ms after the rebinding ` +
        `(${attempts.length - 1} visitor attempts failed first: ${attempts.slice(0, -1).join(',') || 'none'}; ` +
        `${relay.counters.toHub - toHubBefore} datagrams from the agent since; bounded by the agent's 25 s keepalive/probe)`,
    );
  });
});
