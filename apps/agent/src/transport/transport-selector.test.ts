// The carrier state machine on a fake clock: UDP first, WebSocket after a UDP handshake that does
// not complete in time, UDP probes while there and back on the first answered one, fallback again
// when UDP fails later; forced modes never switch; rekeys that complete never switch.
import { describe, expect, it } from 'vitest';
import { FakeTimers } from '../testing/fake-timers.js';
import { FALLBACK_AFTER_MS, PROBE_INTERVAL_MS, TransportSelector, type Carrier } from './transport-selector.js';
import type { TransportMode } from './network-settings.js';

function setup(mode: TransportMode, probeAnswers: boolean[] = []) {
  const timers = new FakeTimers(Date.UTC(2026, 10, 22), 1);
  const switches: Carrier[] = [];
  let probes = 0;
  const selector = new TransportSelector({
    mode,
    timers,
    switchTo: (c) => switches.push(c),
    probeUdp: async () => probeAnswers[probes++] ?? false,
  });
  return { timers, switches, selector, probes: () => probes };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('TransportSelector', () => {
  it('falls back to the WebSocket when no UDP handshake completes, probes, and returns when UDP answers', async () => {
    const { timers, switches, selector, probes } = setup('auto', [false, false, true]);
    expect(selector.status()).toMatchObject({ carrier: 'udp', reason: 'UDP is tried first' });
    selector.handshakeInitiated();
    timers.advance(5_200);
    selector.handshakeInitiated(); // the retransmission does not restart the clock
    timers.advance(FALLBACK_AFTER_MS - 5_200 - 1);
    expect(switches).toEqual([]);
    timers.advance(1);
    expect(switches).toEqual(['websocket']);
    expect(selector.status()).toMatchObject({ carrier: 'websocket', reason: 'no WireGuard handshake over UDP within 6 s', switches: 1 });
    expect(selector.status().nextProbeAtMs).toBe(timers.now() + PROBE_INTERVAL_MS);
    // While on the WebSocket, handshakes there never trigger a switch.
    selector.handshakeInitiated();
    selector.handshakeCompleted();
    for (let i = 1; i <= 2; i++) {
      timers.advance(PROBE_INTERVAL_MS);
      await settle();
      expect(probes()).toBe(i);
      expect(selector.status()).toMatchObject({ carrier: 'websocket', lastProbe: { atMs: timers.now(), ok: false } });
    }
    timers.advance(PROBE_INTERVAL_MS);
    await settle();
    expect(switches).toEqual(['websocket', 'udp']);
    expect(selector.status()).toMatchObject({ carrier: 'udp', reason: 'a UDP probe was answered: back on UDP', nextProbeAtMs: undefined, switches: 2 });
    // No more probes on UDP.
    timers.advance(10 * PROBE_INTERVAL_MS);
    await settle();
    expect(probes()).toBe(3);

    // UDP breaks again later: the next handshake that does not complete sends it back.
    selector.handshakeInitiated();
    timers.advance(FALLBACK_AFTER_MS);
    expect(switches).toEqual(['websocket', 'udp', 'websocket']);
    selector.stop();
    timers.advance(10 * PROBE_INTERVAL_MS);
    await settle();
    expect(probes()).toBe(3);
    expect(timers.pending()).toEqual([]);
  });

  it('stays on UDP when handshakes complete in time, rekeys included', () => {
    const { timers, switches, selector } = setup('auto');
    selector.handshakeInitiated();
    timers.advance(300);
    selector.handshakeCompleted();
    expect(selector.status().reason).toBe('UDP handshakes complete');
    for (let i = 0; i < 5; i++) {
      timers.advance(120_000);
      selector.handshakeInitiated();
      timers.advance(FALLBACK_AFTER_MS - 1);
      selector.handshakeCompleted();
    }
    timers.advance(60_000);
    expect(switches).toEqual([]);
    expect(timers.pending()).toEqual([]);
  });

  it('never switches in a forced mode', async () => {
    for (const mode of ['udp', 'websocket'] as const) {
      const { timers, switches, selector, probes } = setup(mode, [true]);
      expect(selector.status().carrier).toBe(mode);
      expect(selector.status().reason).toMatch(/in the settings$/);
      selector.handshakeInitiated();
      timers.advance(10 * PROBE_INTERVAL_MS);
      await settle();
      expect(switches).toEqual([]);
      expect(probes()).toBe(0);
    }
  });

  it('a handshake answered over UDP while on the WebSocket switches back at once', async () => {
    const { timers, switches, selector, probes } = setup('auto');
    selector.udpAnswered(); // on UDP already: nothing to do
    selector.handshakeInitiated();
    timers.advance(FALLBACK_AFTER_MS);
    expect(switches).toEqual(['websocket']);
    timers.advance(1_000);
    selector.udpAnswered();
    expect(switches).toEqual(['websocket', 'udp']);
    expect(selector.status()).toMatchObject({ carrier: 'udp', reason: 'a handshake over UDP was answered: back on UDP', nextProbeAtMs: undefined });
    timers.advance(10 * PROBE_INTERVAL_MS);
    await settle();
    expect(probes()).toBe(0); // the pending probe was cancelled
    expect(timers.pending()).toEqual([]);
  });

  it('a probe that throws counts as unanswered', async () => {
    const timers = new FakeTimers(0, 1);
    const selector = new TransportSelector({
      mode: 'auto',
      timers,
      switchTo: () => {},
      probeUdp: async () => {
        throw new Error('socket closed');
      },
    });
    selector.handshakeInitiated();
    timers.advance(FALLBACK_AFTER_MS + PROBE_INTERVAL_MS);
    await settle();
    expect(selector.status()).toMatchObject({ carrier: 'websocket', lastProbe: { ok: false } });
  });
});
