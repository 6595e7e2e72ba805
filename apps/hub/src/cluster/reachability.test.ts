// Where a device is, from the local sessions and the cluster view, on a fake clock: here, on the
// live holder, or offline; a newer session here wins over an older recorded hold elsewhere.
import { describe, expect, it } from 'vitest';
import { ClusterView, LEASE_MS } from './cluster-view.js';
import { createReachability, type LocalSessions } from './reachability.js';

const IP = '100.64.0.9';

function setup(local: { online: boolean; ageMs?: number; reason?: 'turned-off-on-device' }) {
  let t = 10_000_000;
  const now = () => t;
  const sessions: LocalSessions = {
    isOnline: () => local.online,
    offlineReason: () => local.reason,
    handshakeAgeMs: () => local.ageMs,
  };
  const view = new ClusterView('a', now);
  view.setNodes([{ name: 'b', wgEndpoint: 'b:51820', clusterUrl: 'http://b:7946', startedAtMs: t - 60_000, lastSeenAtMs: t, leaseExpiresAtMs: t + LEASE_MS }]);
  const reach = createReachability({ nodeName: 'a', local: sessions, view, now });
  return { reach, view, advance: (ms: number) => (t += ms), now };
}

describe('reachability', () => {
  it('a single node: here when the session is up, else offline with the reason it knows', () => {
    const up = createReachability({ nodeName: 'solo', local: { isOnline: () => true, offlineReason: () => undefined, handshakeAgeMs: () => 5 } });
    expect(up.locate(IP)).toEqual({ kind: 'local' });
    expect(up.nodeOf(IP)).toBe('solo');
    const off = createReachability({ nodeName: 'solo', local: { isOnline: () => false, offlineReason: () => 'turned-off-on-device', handshakeAgeMs: () => undefined } });
    expect(off.locate(IP)).toEqual({ kind: 'offline', reason: 'turned-off-on-device' });
    expect(off.nodeOf(IP)).toBeNull();
  });

  it('a device held by a live node is there, and nowhere once that node died', () => {
    const { reach, view, advance, now } = setup({ online: false });
    view.applyHolds([{ tunnelIp: IP, node: 'b', heldSinceMs: now() }]);
    expect(reach.locate(IP)).toMatchObject({ kind: 'remote', node: { name: 'b' } });
    expect(reach.nodeOf(IP)).toBe('b');
    advance(LEASE_MS);
    expect(reach.locate(IP)).toEqual({ kind: 'offline' });
  });

  it('a session here newer than the recorded hold wins; an older one does not', () => {
    const older = setup({ online: true, ageMs: 5_000 });
    older.view.applyHolds([{ tunnelIp: IP, node: 'b', heldSinceMs: older.now() - 1_000 }]);
    expect(older.reach.locate(IP).kind).toBe('remote');
    const newer = setup({ online: true, ageMs: 500 });
    newer.view.applyHolds([{ tunnelIp: IP, node: 'b', heldSinceMs: newer.now() - 1_000 }]);
    expect(newer.reach.locate(IP)).toEqual({ kind: 'local' });
  });
});
