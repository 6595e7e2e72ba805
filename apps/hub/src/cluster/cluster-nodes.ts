// The answer of GET /api/v1/cluster/nodes and the portal's cluster page: every node with its
// endpoint, whether its lease holds, its last heartbeat and the devices it holds. Outside cluster
// mode, this node alone.
import type { HubConfig } from '../config/config-schema.js';
import type { ClusterView } from './cluster-view.js';

export interface ClusterNodeInfo {
  name: string;
  wgEndpoint: string;
  alive: boolean;
  lastSeenAt: string;
  devicesOnline: number;
}

export function clusterNodes(o: { config: HubConfig; view: ClusterView | undefined; localDevices(): number; now?: () => number }): ClusterNodeInfo[] {
  const now = o.now ?? Date.now;
  const self: ClusterNodeInfo = { name: o.config.nodeName, wgEndpoint: o.config.wgEndpoint, alive: true, lastSeenAt: new Date(now()).toISOString(), devicesOnline: o.localDevices() };
  if (!o.view) return [self];
  const counts = o.view.countsByNode();
  const nodes = o.view.listNodes().map((n) =>
    n.name === self.name
      ? self
      : { name: n.name, wgEndpoint: n.wgEndpoint, alive: n.alive, lastSeenAt: new Date(n.lastSeenAtMs).toISOString(), devicesOnline: n.alive ? (counts.get(n.name) ?? 0) : 0 },
  );
  if (!nodes.some((n) => n.name === self.name)) nodes.push(self);
  return nodes.sort((a, b) => a.name.localeCompare(b.name));
}
