// The one answer to "where is this device, and may it be reached": here (a live WireGuard session
// on this node), on another live node (which holds its newest session), or offline. The proxy, the
// API, the portal and the device-control channel all ask this, never the overlay or the database
// directly. In-memory only: it runs on every proxied request.
import type { ClusterView, NodeRecord } from './cluster-view.js';

export type Reach =
  | { kind: 'local' }
  | { kind: 'remote'; node: NodeRecord }
  | { kind: 'offline'; reason?: 'turned-off-on-device' };

/** What reachability needs from the data plane. */
export interface LocalSessions {
  isOnline(tunnelIp: string): boolean;
  offlineReason(tunnelIp: string): 'turned-off-on-device' | undefined;
  /** Milliseconds since this node's last handshake with the peer at `tunnelIp` (undefined: none). */
  handshakeAgeMs(tunnelIp: string): number | undefined;
}

export interface Reachability {
  locate(tunnelIp: string): Reach;
  /** The name of the node holding the device's session, null when offline. */
  nodeOf(tunnelIp: string): string | null;
}

export function createReachability(o: { nodeName: string; local: LocalSessions; view?: ClusterView; now?: () => number }): Reachability {
  const now = o.now ?? Date.now;
  function locate(tunnelIp: string): Reach {
    const online = o.local.isOnline(tunnelIp);
    if (o.view) {
      const holder = o.view.holderOf(tunnelIp);
      if (holder.kind === 'node') {
        // A session here newer than the recorded hold is the device moving to us (our write is on
        // its way): serve it here. Sending through an older session elsewhere would pull the device
        // back there (WireGuard follows the last authenticated packet's source).
        const age = online ? o.local.handshakeAgeMs(tunnelIp) : undefined;
        const heldSince = o.view.hold(tunnelIp)!.heldSinceMs;
        if (age === undefined || now() - age <= heldSince) return { kind: 'remote', node: holder.node };
      }
    }
    if (online) return { kind: 'local' };
    const reason = o.local.offlineReason(tunnelIp);
    return reason ? { kind: 'offline', reason } : { kind: 'offline' };
  }
  return {
    locate,
    nodeOf(tunnelIp) {
      const r = locate(tunnelIp);
      return r.kind === 'local' ? o.nodeName : r.kind === 'remote' ? r.node.name : null;
    },
  };
}
