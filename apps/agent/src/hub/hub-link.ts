// The agent's way to the hub: API calls through the current proxy (the page may change it at any
// time, so each request picks it up), the DNS for the UDP endpoint, and a cluster's list of nodes
// (tunnel/hub-endpoints.ts) kept per registration in the state file.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { HandshakeClock } from '../clock/handshake-clock.js';
import { parseEndpoint, type Registration } from '../registration.js';
import type { StateStore } from '../state/state-store.js';
import type { Timers } from '../timers.js';
import { DEFAULT_NETWORK, type NetworkSettings } from '../transport/network-settings.js';
import { createProxiedFetch } from '../transport/proxied-fetch.js';
import { createTcpDialer } from '../transport/proxy-dialer.js';
import { HubEndpoints, type HubEndpointsSnapshot } from '../tunnel/hub-endpoints.js';
import { HubClient, type FetchLike } from './hub-client.js';

export interface HubLinkDeps {
  hubUrl: URL;
  store: StateStore;
  timers: Timers;
  clock: HandshakeClock;
  /** The registration of this device's serial, if any. */
  registration: () => Registration | undefined;
  /** Proxy and transport from the command line; the state file's page override wins. */
  network?: NetworkSettings;
  fetch?: FetchLike;
  /** Host name resolution for the hub endpoint (default: DNS). */
  resolve?: (host: string) => Promise<string>;
}

export interface HubLink {
  hub: HubClient;
  /** The network settings in force: the page's override, else the command line's, else direct. */
  network(): NetworkSettings;
  /** DNS for the UDP endpoint; behind a proxy a site may have none, and the WebSocket carrier needs none. */
  resolveHub(host: string): Promise<string>;
  /** The registration's hub nodes (undefined when not registered). */
  endpoints(): HubEndpoints | undefined;
}

export function createHubLink(deps: HubLinkDeps): HubLink {
  const { store, timers } = deps;
  const network = (): NetworkSettings => store.state.network ?? deps.network ?? DEFAULT_NETWORK;
  const directFetch = createProxiedFetch();
  let proxiedFetch: { key: string; fetch: FetchLike } | undefined;
  const currentFetch = (): FetchLike => {
    if (deps.fetch) return deps.fetch;
    const proxy = network().proxy;
    if (!proxy) return directFetch;
    const key = JSON.stringify(proxy);
    if (proxiedFetch?.key !== key) proxiedFetch = { key, fetch: createProxiedFetch(createTcpDialer(proxy)) };
    return proxiedFetch.fetch;
  };
  const hub = new HubClient({
    hubUrl: deps.hubUrl,
    fetch: (input, init) => currentFetch()(input, init),
    onDate: (d) => deps.clock.observeHubDate(d, timers.now()),
  });

  const resolveHub = async (host: string): Promise<string> => {
    try {
      if (deps.resolve) return await deps.resolve(host);
      if (isIP(host)) return host;
      return (await lookup(host, { family: 0, order: 'ipv4first' })).address;
    } catch (err) {
      const n = network();
      if (n.proxy || n.transport === 'websocket') return host;
      throw err;
    }
  };

  // One object per registration; a hub without clusters sends no list: the registration's endpoint.
  let hubEndpoints: { key: string; endpoints: HubEndpoints } | undefined;
  const endpoints = (): HubEndpoints | undefined => {
    const reg = deps.registration();
    if (!reg) return undefined;
    const key = `${reg.hub.publicKey} ${reg.tunnelIp} ${reg.hub.endpoint}`;
    if (hubEndpoints?.key !== key) {
      hubEndpoints = {
        key,
        endpoints: new HubEndpoints({
          registered: reg.hub.endpoint,
          // The registration's own list: a state file an older agent wrote without hubEndpoints.
          stored: store.state.hubEndpoints ?? registeredNodes(reg),
          random: timers.random,
          onChange: (snapshot) =>
            store.update((s) => {
              s.hubEndpoints = snapshot;
            }),
        }),
      };
    }
    return hubEndpoints.endpoints;
  };

  return { hub, network, resolveHub, endpoints };
}

/**
 * The registration answer's `hub.endpoints` (every live node's, beside `hub.endpoint`) as the nodes
 * to keep, dialling `hub.endpoint`; undefined when it lists none that is valid (a single hub).
 */
export function registeredNodes(reg: Registration): HubEndpointsSnapshot | undefined {
  const list = (reg.hub as { endpoints?: unknown }).endpoints;
  if (!Array.isArray(list)) return undefined;
  const valid = list.filter((e): e is string => typeof e === 'string' && parseEndpoint(e) !== undefined);
  return valid.length > 0 ? { endpoints: valid, current: reg.hub.endpoint } : undefined;
}
