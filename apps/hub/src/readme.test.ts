// The hub README's configuration, metrics and API tables are rendered from the code
// (ops/readme-tables.ts); this fails when the README differs. To refresh them after a change:
// UPDATE_README=1 npx vitest run apps/hub/src/readme.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiRouteTable } from './api/api-routes.js';
import { instrumentCluster, type ClusterMetricSources } from './cluster/cluster-metrics.js';
import { instrumentOverlay, instrumentPeerSockets, instrumentUdpIngress } from './dataplane/dataplane-metrics.js';
import type { UdpIngress } from './dataplane/udp-ingress.js';
import type { MeteredBind } from './dataplane/metered-bind.js';
import type { Overlay } from './dataplane/overlay.js';
import { createHubMetrics } from './ops/hub-metrics.js';
import { apiTable, configTable, metricsTable } from './ops/readme-tables.js';
import type { Registry } from './registry/index.js';
import { instrumentWsTransport } from './transport/ws-transport-metrics.js';
import type { WsDatagramTransport } from './transport/ws-datagram-transport.js';

const README = new URL('../README.md', import.meta.url);

/** The hub's whole metric set: readers are only called at scrape time, so empty sources do. */
function hubRegistry() {
  const metrics = createHubMetrics();
  instrumentOverlay(metrics, { wireguard: { device: {} } } as unknown as Overlay, {} as MeteredBind);
  instrumentUdpIngress(metrics, {} as UdpIngress);
  instrumentPeerSockets(metrics, () => ({ open: 0, opened: 0, received: 0, sent: 0 }));
  instrumentWsTransport(metrics, {} as WsDatagramTransport);
  instrumentCluster(metrics, {} as ClusterMetricSources);
  return metrics.registry;
}

const sections: Record<string, () => string> = {
  config: configTable,
  metrics: () => metricsTable(hubRegistry()),
  api: () => apiTable(apiRouteTable({ registry: {} as Registry })),
};

/** The text between the `<!-- generated:NAME -->` line and the `<!-- /generated:NAME -->` line. */
function section(text: string, name: string): { from: number; to: number; body: string } {
  const start = `<!-- generated:${name} -->\n`;
  const from = text.indexOf(start) + start.length;
  const to = text.indexOf(`<!-- /generated:${name} -->`, from);
  if (from < start.length || to < from) throw new Error(`README has no generated:${name} section`);
  return { from, to, body: text.slice(from, to).replace(/\n$/, '') };
}

describe('apps/hub/README.md', () => {
  if (process.env.UPDATE_README === '1') {
    let text = readFileSync(README, 'utf8');
    for (const [name, render] of Object.entries(sections)) {
      const { from, to } = section(text, name);
      text = `${text.slice(0, from)}${render()}\n${text.slice(to)}`;
    }
    writeFileSync(README, text);
  }
  const readme = readFileSync(README, 'utf8');

  it.each(Object.keys(sections))('the %s table is the one the code renders', (name) => {
    expect(section(readme, name).body).toBe(sections[name]!());
  });

  it('lists every setting, metric and route (the tables are not empty)', () => {
    expect(configTable()).toContain('`PORTHOLE_DOMAIN`');
    expect(metricsTable(hubRegistry())).toContain('`porthole_dataplane_drops_total`');
    expect(apiTable(apiRouteTable({ registry: {} as Registry }))).toContain('`/api/v1/devices/{serial}`');
  });
});
