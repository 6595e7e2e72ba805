// A cluster tunnel's liveness with a fake clock: an idle session is probed after
// CLUSTER_IDLE_PROBE_MS, any authenticated packet answers, an unanswered probe makes the node silent
// after CLUSTER_SILENT_AFTER_MS; before the first answer only when asked to watch the handshake.
import { describe, expect, it } from 'vitest';
import { CLUSTER_IDLE_PROBE_MS, CLUSTER_SILENT_AFTER_MS, HubLiveness, type LivenessAction } from './liveness.js';

/** Ticks every 250 ms from `from` to `to` with a fixed rx counter; returns the actions with their times. */
function run(l: HubLiveness, from: number, to: number, rx: (t: number) => number): Array<[number, LivenessAction]> {
  const out: Array<[number, LivenessAction]> = [];
  for (let t = from; t <= to; t += 250) {
    const a = l.tick(t, rx(t));
    if (a) out.push([t, a]);
  }
  return out;
}

describe('HubLiveness', () => {
  it('probes an idle session, and a node that answers the probes is never silent', () => {
    const l = new HubLiveness({ startMs: 0 });
    // The handshake answered at once; afterwards every probe is answered 250 ms later.
    let rx = 92;
    const actions: Array<[number, LivenessAction]> = [];
    for (let t = 0; t <= 60_000; t += 250) {
      const a = l.tick(t, rx);
      if (a) actions.push([t, a]);
      if (a === 'probe') rx += 32; // seen at the next tick
    }
    expect(actions.every(([, a]) => a === 'probe')).toBe(true);
    expect(actions.length).toBeGreaterThanOrEqual(60_000 / (CLUSTER_IDLE_PROBE_MS + 250) - 1);
    expect(actions[0]![0]).toBe(CLUSTER_IDLE_PROBE_MS);
  });

  it('calls a node silent when a probe goes unanswered for REKEY_TIMEOUT', () => {
    const l = new HubLiveness({ startMs: 0 });
    const actions = run(l, 0, 30_000, (t) => (t < 1000 ? 92 : 92)); // the handshake, then nothing
    expect(actions[0]).toEqual([CLUSTER_IDLE_PROBE_MS, 'probe']);
    const silentAt = actions.find(([, a]) => a === 'silent')![0];
    expect(silentAt).toBeGreaterThanOrEqual(CLUSTER_IDLE_PROBE_MS + CLUSTER_SILENT_AFTER_MS);
    expect(silentAt).toBeLessThan(CLUSTER_IDLE_PROBE_MS + CLUSTER_SILENT_AFTER_MS + 250);
  });

  it('traffic from the hub is an answer: a busy session is never probed', () => {
    const l = new HubLiveness({ startMs: 0 });
    expect(run(l, 0, 60_000, (t) => 100 + Math.floor(t / 1000))).toEqual([]);
  });

  it('an unanswered handshake is silent only when watched from the start', () => {
    const watched = new HubLiveness({ startMs: 0, beforeFirstAnswer: true });
    expect(run(watched, 0, 10_000, () => 0)[0]).toEqual([Math.ceil(CLUSTER_SILENT_AFTER_MS / 250) * 250, 'silent']);
    // Not watched: the supervisor's handshake deadline decides (the WebSocket fallback needs its 6 s).
    const unwatched = new HubLiveness({ startMs: 0, beforeFirstAnswer: false });
    expect(run(unwatched, 0, 60_000, () => 0)).toEqual([]);
    // Once the handshake is answered it is watched like any session.
    expect(run(unwatched, 60_250, 80_000, () => 92).map(([, a]) => a).slice(0, 2)).toEqual(['probe', 'silent']);
  });
});
