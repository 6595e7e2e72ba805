/** @jsxImportSource hono/jsx */
// The admin's cluster page (/admin/cluster): the hub nodes sharing this database, as
// GET /api/v1/cluster/nodes lists them — endpoint, heartbeat, devices held. One row outside
// cluster mode.
import type { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import type { ClusterNodeInfo } from '../cluster/cluster-nodes.js';
import type { ViewBase } from './device-pages.js';
import { ago, formatTime } from './format.js';
import { Layout, ListTable } from './layout.js';
import type { PortalEnv, PortalKit } from './portal-kit.js';

export const ClusterPage: FC<ViewBase & { nodes: ClusterNodeInfo[]; clustered: boolean }> = (p) => (
  <Layout title="Hub nodes" user={p.user} csrf={p.csrf} current="/admin/cluster">
    <p>
      {p.clustered
        ? 'The hub nodes sharing this database. Each device is held by the node with its newest WireGuard session; any node serves any device. A node whose heartbeat stopped for about five seconds is dead and holds nothing.'
        : 'This hub runs as a single node (PORTHOLE_CLUSTER_LISTEN is not set).'}
    </p>
    <ListTable rows={p.nodes} empty="No hub nodes." columns={['Node', 'WireGuard endpoint', 'State', 'Last heartbeat', 'Devices online']}>
      {p.nodes.map((n) => (
        <tr>
          <td class="mono">{n.name}</td>
          <td class="mono">{n.wgEndpoint}</td>
          <td>{n.alive ? 'alive' : 'dead'}</td>
          <td title={formatTime(n.lastSeenAt, true)}>{ago(n.lastSeenAt, p.now)}</td>
          <td>{n.devicesOnline}</td>
        </tr>
      ))}
    </ListTable>
  </Layout>
);

export function registerClusterRoutes(app: Hono<PortalEnv>, kit: PortalKit, cluster: { nodes(): ClusterNodeInfo[]; clustered: boolean } | undefined): void {
  app.get('/admin/cluster', (c) =>
    c.html(
      <ClusterPage user={kit.userOf(c)} csrf={c.get('csrf')} now={kit.registry.context.now()} nodes={cluster?.nodes() ?? []} clustered={cluster?.clustered ?? false} />,
    ),
  );
}
