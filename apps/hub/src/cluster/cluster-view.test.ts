// The lease and holder rules on a fake clock: a lapsed lease kills a node and frees its devices, a
// hold moves only to a newer handshake, an old session stops counting.
import { describe, expect, it } from 'vitest';
import { ClusterView, HOLD_FRESH_MS, LEASE_MS, takesHold, type NodeRecord } from './cluster-view.js';

function clock(startMs = 1_000_000) {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** A node record as a heartbeat at `nowMs` writes it; the process started long before unless said. */
function node(name: string, nowMs: number, leaseMs = LEASE_MS, startedAtMs = 0): NodeRecord {
  return { name, wgEndpoint: `${name}:51820`, clusterUrl: `http://${name}:7946`, startedAtMs, lastSeenAtMs: nowMs, leaseExpiresAtMs: nowMs + leaseMs };
}

describe('takesHold', () => {
  it('takes an unheld device, and one whose holder is dead, whatever the times', () => {
    expect(takesHold(undefined, 'a', 5, true)).toBe(true);
    expect(takesHold({ tunnelIp: 'x', node: 'b', heldSinceMs: 100 }, 'a', 5, false)).toBe(true);
  });
  it('moves to a newer handshake only; an older or equal session on another node never steals', () => {
    const held = { tunnelIp: 'x', node: 'b', heldSinceMs: 100 };
    expect(takesHold(held, 'a', 101, true)).toBe(true);
    expect(takesHold(held, 'a', 100, true)).toBe(false);
    expect(takesHold(held, 'a', 99, true)).toBe(false);
  });
  it('lets the holder renew with the same or a newer handshake', () => {
    const held = { tunnelIp: 'x', node: 'a', heldSinceMs: 100 };
    expect(takesHold(held, 'a', 100, true)).toBe(true);
    expect(takesHold(held, 'a', 99, true)).toBe(false);
  });
});

describe('ClusterView', () => {
  it('a node is alive until its lease lapses, then its devices belong to no node', () => {
    const c = clock();
    const view = new ClusterView('a', c.now);
    view.setNodes([node('a', c.now()), node('b', c.now())]);
    view.applyHolds([{ tunnelIp: '100.64.0.2', node: 'b', heldSinceMs: c.now() }]);
    expect(view.holderOf('100.64.0.2')).toMatchObject({ kind: 'node', node: { name: 'b' } });
    c.advance(LEASE_MS - 1);
    expect(view.isAlive('b')).toBe(true);
    c.advance(1);
    expect(view.isAlive('b')).toBe(false);
    expect(view.holderOf('100.64.0.2')).toEqual({ kind: 'none' });
    expect(view.listNodes().find((n) => n.name === 'b')?.alive).toBe(false);
    // This node is alive by definition: it answers, whatever its last heartbeat write says.
    expect(view.isAlive('a')).toBe(true);
  });

  it('a renewed lease brings the node and its holds back', () => {
    const c = clock();
    const view = new ClusterView('a', c.now);
    view.setNodes([node('b', c.now())]);
    view.applyHolds([{ tunnelIp: '100.64.0.2', node: 'b', heldSinceMs: c.now() }]);
    c.advance(LEASE_MS + 10);
    expect(view.holderOf('100.64.0.2').kind).toBe('none');
    view.setNodes([node('b', c.now())]);
    expect(view.holderOf('100.64.0.2').kind).toBe('node');
  });

  it('an older hold read late never replaces a newer one', () => {
    const c = clock();
    const view = new ClusterView('a', c.now);
    view.setNodes([node('b', c.now()), node('c', c.now())]);
    expect(view.applyHolds([{ tunnelIp: '100.64.0.2', node: 'c', heldSinceMs: c.now() }])).toEqual(['100.64.0.2']);
    expect(view.applyHolds([{ tunnelIp: '100.64.0.2', node: 'b', heldSinceMs: c.now() - 1 }])).toEqual([]);
    expect(view.hold('100.64.0.2')?.node).toBe('c');
  });

  it('wouldTake: a local handshake takes a device another live node holds only when newer', () => {
    const c = clock();
    const view = new ClusterView('a', c.now);
    view.setNodes([node('b', c.now())]);
    const t0 = c.now();
    view.applyHolds([{ tunnelIp: '100.64.0.2', node: 'b', heldSinceMs: t0 }]);
    expect(view.wouldTake('100.64.0.2', t0 - 500)).toBe(false);
    expect(view.wouldTake('100.64.0.2', t0 + 1)).toBe(true);
    // Once b is dead, even an older local session takes it.
    c.advance(LEASE_MS);
    expect(view.wouldTake('100.64.0.2', t0 - 500)).toBe(true);
    // A hold of our own with this very handshake needs no second write.
    view.applyHolds([{ tunnelIp: '100.64.0.3', node: 'a', heldSinceMs: t0 }]);
    expect(view.wouldTake('100.64.0.3', t0)).toBe(false);
    expect(view.wouldTake('100.64.0.3', t0 + 120_000)).toBe(true);
  });

  it('a hold whose session is older than REJECT_AFTER_TIME counts as offline, per node counts too', () => {
    const c = clock();
    const view = new ClusterView('a', c.now);
    view.setNodes([node('b', c.now(), 10 * HOLD_FRESH_MS)]);
    view.applyHolds([
      { tunnelIp: '100.64.0.2', node: 'b', heldSinceMs: c.now() },
      { tunnelIp: '100.64.0.3', node: 'b', heldSinceMs: c.now() - HOLD_FRESH_MS + 1000 },
      { tunnelIp: '100.64.0.4', node: 'a', heldSinceMs: c.now() },
    ]);
    expect(view.countsByNode()).toEqual(new Map([['b', 2], ['a', 1]]));
    c.advance(1000);
    expect(view.holderOf('100.64.0.3')).toEqual({ kind: 'none' });
    expect(view.holderOf('100.64.0.2').kind).toBe('node');
    expect(view.countsByNode().get('b')).toBe(1);
  });

  it('while the database cannot be read, leases and holds are judged as of the last read', () => {
    const c = clock();
    const view = new ClusterView('a', c.now);
    view.setNodes([node('b', c.now())]);
    view.applyHolds([{ tunnelIp: '100.64.0.2', node: 'b', heldSinceMs: c.now() }]);
    view.freeze(c.now());
    c.advance(HOLD_FRESH_MS + LEASE_MS);
    expect(view.holderOf('100.64.0.2').kind).toBe('node');
    expect(view.isAlive('b')).toBe(true);
    view.thaw();
    expect(view.holderOf('100.64.0.2').kind).toBe('none');
    expect(view.isAlive('b')).toBe(false);
  });

  it("a hold from before its node restarted is nobody's: the new process has none of those sessions", () => {
    const c = clock();
    const view = new ClusterView('a', c.now);
    view.applyHolds([{ tunnelIp: '100.64.0.2', node: 'b', heldSinceMs: c.now() }]);
    c.advance(2000);
    view.setNodes([node('b', c.now(), LEASE_MS, c.now())]); // b started again just now
    expect(view.holderOf('100.64.0.2')).toEqual({ kind: 'none' });
    expect(view.countsByNode().get('b')).toBeUndefined();
    view.applyHolds([{ tunnelIp: '100.64.0.2', node: 'b', heldSinceMs: c.now() + 10 }]);
    c.advance(10);
    expect(view.holderOf('100.64.0.2').kind).toBe('node');
  });
});
