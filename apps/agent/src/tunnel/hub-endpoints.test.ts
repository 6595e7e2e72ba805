// Which hub node the tunnel dials: a failover never returns to a node tried since the last
// handshake and spreads over the others; a handshake starts a new round; the hub's `move` avoids
// the leaving node until a policy lists it again; a new list keeps the node that works.
import { describe, expect, it } from 'vitest';
import { HubEndpoints, type HubEndpointsSnapshot } from './hub-endpoints.js';

const A = '192.0.2.1:51820';
const B = '192.0.2.2:51820';
const C = '192.0.2.3:51820';

function make(stored?: HubEndpointsSnapshot, random = () => 0) {
  const changes: HubEndpointsSnapshot[] = [];
  const e = new HubEndpoints({ registered: A, stored, random, onChange: (s) => changes.push(s) });
  return { e, changes };
}

describe('HubEndpoints', () => {
  it('without a list dials the registered endpoint and has nowhere to fail over to', () => {
    const { e, changes } = make();
    expect(e.current()).toBe(A);
    expect(e.clustered).toBe(false);
    expect(e.untriedRemain()).toBe(false);
    expect(e.failover()).toBeUndefined();
    expect(e.current()).toBe(A);
    expect(changes).toEqual([]);
  });

  it('starts from the stored list and current node (a restart goes back to the node that worked)', () => {
    const { e } = make({ endpoints: [A, B, C], current: C });
    expect(e.current()).toBe(C);
    expect(e.clustered).toBe(true);
  });

  it('fails over to every other node once per round, then backs off, and a handshake starts a new round', () => {
    const { e, changes } = make({ endpoints: [A, B, C], current: A });
    const seen = [e.current()];
    expect(e.untriedRemain()).toBe(true);
    seen.push(e.failover()!);
    seen.push(e.failover()!);
    expect(new Set(seen)).toEqual(new Set([A, B, C]));
    expect(e.untriedRemain()).toBe(false);
    expect(e.failover()).toBeUndefined(); // every node tried: the supervisor backs off
    expect(e.current()).toBe(seen[2]); // and retries the last one after the backoff
    // A new round after the backoff: the others again.
    const next = e.failover()!;
    expect(next).not.toBe(seen[2]);
    e.succeeded();
    expect(e.untriedRemain()).toBe(true);
    expect(changes.at(-1)).toEqual({ endpoints: [A, B, C], current: next });
  });

  it('spreads the devices of a dead node over the other nodes (random choice among the untried)', () => {
    const picks = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const { e } = make({ endpoints: [A, B, C], current: A }, () => i / 100);
      const n = e.failover()!;
      picks.set(n, (picks.get(n) ?? 0) + 1);
    }
    expect(picks.get(A)).toBeUndefined();
    expect(picks.get(B)).toBe(50);
    expect(picks.get(C)).toBe(50);
  });

  it('keeps the current node when a new list arrives, even one that does not name it', () => {
    const { e, changes } = make();
    expect(e.update([A, B])).toBe(true);
    expect(e.clustered).toBe(true);
    expect(e.update([A, B])).toBe(false); // the same list writes nothing
    expect(e.update([])).toBe(false);
    expect(e.update([B, C, C])).toBe(true);
    expect(e.current()).toBe(A);
    expect(e.list()).toEqual([B, C]);
    expect(changes.length).toBe(2);
  });

  it('moves to the suggested node, never back to the leaving one until a hub lists it again', () => {
    const { e } = make({ endpoints: [A, B, C], current: A });
    expect(e.move(A, [C, B])).toBe(C);
    expect(e.current()).toBe(C);
    // C dies too: failover may only pick B; A is leaving.
    expect(e.failover()).toBe(B);
    expect(e.failover()).toBeUndefined();
    // A restarted and a policy lists it again: it is a candidate once more.
    e.update([A, B, C]);
    e.succeeded();
    expect(e.failover()).toBe(A);
  });

  it('stays where it is when the move names no other node', () => {
    const { e } = make({ endpoints: [A, B], current: A });
    expect(e.move(A, [A])).toBeUndefined();
    expect(e.current()).toBe(A);
  });
});
