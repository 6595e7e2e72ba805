// createHub(deps): wires one hub process — database and registry, the WireGuard endpoint with its
// router and netstack, and the HTTP edge (portal, admin API, serial-subdomain proxy, ops). Tests
// and main.ts both build the hub through this function.
import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { createDatabase, type DatabaseHandle } from '@porthole/db';
import { constants as wgConstants, decodeKey, encodeKey, publicKeyFromPrivate, type Bind } from '@porthole/wireguard';
import { parseIpv4Address } from '@porthole/netstack';
import { createApiRoutes } from './api/api-routes.js';
import { singleSignOnFromConfig } from './auth/single-sign-on.js';
import { instrumentCluster } from './cluster/cluster-metrics.js';
import { checkHubIdentity } from './cluster/cluster-store.js';
import { attachCluster, joinCluster, type AttachedCluster } from './cluster/hub-cluster.js';
import { clusterNodes } from './cluster/cluster-nodes.js';
import { createClusterTicketStore } from './cluster/cluster-tickets.js';
import { createReachability, type Reachability } from './cluster/reachability.js';
import type { HubConfig } from './config/config-schema.js';
import { instrumentOverlay, instrumentPeerSockets, instrumentUdpIngress } from './dataplane/dataplane-metrics.js';
import { PeerSocketBind } from './dataplane/peer-socket-bind.js';
import { UdpIngress } from './dataplane/udp-ingress.js';
import { openWireGuardSocket } from './dataplane/udp-ingress-fallback.js';
import { MeteredBind } from './dataplane/metered-bind.js';
import { startOverlay, type Overlay } from './dataplane/overlay.js';
import { startDeviceControl, type DeviceControl } from './device-control/device-control.js';
import { loadOrCreateHubKey } from './hub-key.js';
import { createHubMetrics } from './ops/hub-metrics.js';
import { silentLogger, type Logger } from './ops/logger.js';
import { createPortalRoutes } from './portal/portal-routes.js';
import { createBatchingAccessLog, type BatchingAccessLog } from './proxy/batching-access-log.js';
import type { DeviceRoute } from './proxy/contracts.js';
import type { CachedDirectory } from './proxy/device-directory.js';
import { createDeviceSessions } from './proxy/device-sessions.js';
import { parseDeviceHostSetting } from './proxy/host-router.js';
import { createTicketStore } from './proxy/ticket-store.js';
import { createRegistryDirectory, registryInstallerLinks, registrySessionStore, registryVisitorAuth } from './proxy-registry.js';
import { createRegistry, linkIdOf, type Registry } from './registry/index.js';
import { createHubHttp, type HubHttp } from './server/hub-http.js';
import { CompositeBind } from './transport/composite-bind.js';
import { WS_TRANSPORT, createWsDatagramTransport, type WsDatagramTransport } from './transport/ws-datagram-transport.js';
import { instrumentWsTransport } from './transport/ws-transport-metrics.js';
import { createDevicePresence } from './webhooks/device-presence.js';
import { createSecretBox } from './webhooks/secret-box.js';
import { createWebhookOutbox } from './webhooks/webhook-outbox.js';

export interface HubDeps {
  config: HubConfig;
  logger?: Logger;
  /** An open database; by default the hub opens PostgreSQL (config.databaseUrl) or PGlite in the data dir. */
  database?: DatabaseHandle;
  /** The UDP transport for WireGuard; by default a UdpBind on config.listenHost:config.wgPort. */
  bind?: Bind;
  /** Reported in the OpenAPI document. */
  version?: string;
  /** How often peer status is written back (default 10 s). */
  statusFlushMs?: number;
}

export interface Hub {
  readonly config: HubConfig;
  readonly registry: Registry;
  readonly database: DatabaseHandle;
  readonly overlay: Overlay;
  /** WireGuard over WebSocket on the portal host (undefined when config.wsTransport is off). */
  readonly wsTransport: WsDatagramTransport | undefined;
  readonly http: HubHttp;
  readonly directory: CachedDirectory;
  /** Where each device is: here, on another node of the cluster, or offline. */
  readonly reachability: Reachability;
  /** Cluster mode (PORTHOLE_CLUSTER_LISTEN); undefined on a single node. */
  readonly cluster: AttachedCluster | undefined;
  readonly publicKey: string;
  /** Portal base URL, e.g. http://localhost:8080. */
  readonly portalUrl: string;
  deviceUrl(serial: string): string;
  /** Starts the HTTP listeners; returns the bound ports. */
  listen(): ReturnType<HubHttp['listen']>;
  /** Graceful shutdown: drain HTTP, flush logs and peer status, close the overlay and the database. */
  close(): Promise<void>;
}

function origin(scheme: 'http' | 'https', host: string, port: number): string {
  const defaultPort = scheme === 'https' ? 443 : 80;
  return `${scheme}://${host}${port === defaultPort ? '' : `:${port}`}`;
}

export async function createHub(deps: HubDeps): Promise<Hub> {
  const { config } = deps;
  const logger = deps.logger ?? silentLogger;
  const scheme = config.tls ? 'https' : 'http';
  const publicPort = config.tls ? config.httpsPort! : config.httpPort;
  const portalUrl = origin(scheme, config.portalHost, publicPort);
  // Single-host mode: device links open the device there (and agents rewrite their absolute links to it).
  const deviceHost = config.deviceHost ? parseDeviceHostSetting(config.deviceHost) : undefined;
  const singleHostOrigin = deviceHost && (deviceHost.port ? `${scheme}://${config.deviceHost}` : origin(scheme, deviceHost.host, publicPort));
  const deviceUrl = (serial: string) =>
    singleHostOrigin ? `${singleHostOrigin}/.porthole/select?serial=${serial}` : `${origin(scheme, `${serial}.${config.domain}`, publicPort)}/`;
  const privateKey = config.wgKey ? decodeKey(config.wgKey) : loadOrCreateHubKey(config.dataDir);
  // Every node of a cluster holds the same hub key, so each one accepts the others' selection cookies.
  const selectionKey = new Uint8Array(hkdfSync('sha256', privateKey, new Uint8Array(0), 'porthole single-host selection v1', 32));
  // The portal's CSRF tokens too: a form loaded from one node is posted to another behind a load balancer.
  const csrfKey = new Uint8Array(hkdfSync('sha256', privateKey, new Uint8Array(0), 'porthole portal csrf v1', 32));

  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
  };
  try {
    const database =
      deps.database ??
      (await createDatabase({
        ...(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: join(config.dataDir, 'pglite') }),
        logger: logger.child({ component: 'db' }),
      }));
    if (!deps.database) cleanups.push(() => database.close());

    const publicKey = encodeKey(publicKeyFromPrivate(privateKey));
    // Devices trust one hub key: a node (or a restored data directory) with another one must not serve.
    await checkHubIdentity(database.db, publicKey);
    // Before the data plane: a restarted node must know which devices other nodes hold.
    const joined = await joinCluster({ config, database, logger });
    if (joined) cleanups.push(() => joined.node.close());
    const registry = createRegistry({
      db: database.db,
      overlayCidr: config.overlayCidr,
      hub: { publicKey, endpoint: config.wgEndpoint },
      portalUrl,
      deviceUrl,
      logger,
      ...(config.deviceCaPem !== undefined ? { deviceCaPem: config.deviceCaPem } : {}),
      // In a cluster every node counts sign-ups per address against one budget (the throttles table).
      ...(joined ? { loginThrottle: { sharedSignUpBudget: true } } : {}),
    });
    await registry.bootstrapAdmin({
      ...(config.adminEmail ? { adminEmail: config.adminEmail } : {}),
      ...(config.adminPassword ? { adminPassword: config.adminPassword } : {}),
      ...(config.adminToken ? { adminToken: config.adminToken } : {}),
    });

    // Webhooks: events go to the database outbox first, then out, signed, with retries.
    const webhookSecrets = createSecretBox(privateKey);
    const webhooks = createWebhookOutbox({
      store: registry,
      secrets: webhookSecrets,
      configured: config.webhookUrl && config.webhookSecret ? { url: config.webhookUrl, secret: config.webhookSecret } : undefined,
      logger,
    });
    webhooks.start();
    cleanups.push(() => webhooks.close());
    // Events about a device go to the hub-wide endpoints and to those of the device's organisation:
    // the one the caller knows (the peer set's, or the one a visit's log entry carries), else the device row's.
    const emitForDevice = (serial: string, event: Parameters<typeof webhooks.emit>[0], data: Record<string, unknown>, knownOrganizationId?: string): void =>
      void (async () => {
        const organizationId = knownOrganizationId ?? (await registry.findDeviceBySerial(serial).catch(() => undefined))?.organizationId ?? null;
        await webhooks.emit(event, { device: { serial, organizationId }, ...data }, { organizationId });
      })();

    const metrics = createHubMetrics();
    // With the ingress thread the socket is read and flood-checked on a thread of its own (dataplane/udp-ingress.ts);
    // where the platform refuses that, the main thread reads it (logged).
    const udp =
      deps.bind ??
      (await openWireGuardSocket({
        port: config.wgPort,
        host: config.listenHost,
        publicKey: publicKeyFromPrivate(privateKey),
        ingressThread: config.wgIngressThread === 'on',
        peerSockets: config.wgPeerSockets === 'on',
        logger,
      }));
    // Devices whose UDP is blocked send the same datagrams over a WebSocket on the HTTP(S) port.
    const wsTransport =
      config.wsTransport === 'on'
        ? createWsDatagramTransport({
            limits: {
              maxConnectionsPerIp: config.wsMaxConnectionsPerIp,
              maxMessagesPerSecond: config.wsMaxMessagesPerSecond,
              burstMessages: Math.max(100, Math.round(config.wsMaxMessagesPerSecond / 5)),
              idleTimeoutMs: config.wsIdleTimeoutMs,
            },
            logger,
          })
        : undefined;
    const bind = new MeteredBind(wsTransport ? new CompositeBind(udp, new Map([[WS_TRANSPORT, wsTransport]])) : udp);
    // Filled in once both exist; handshakes before then have nothing to push yet.
    let overlayRef: Overlay | undefined;
    let deviceControlRef: DeviceControl | undefined;
    let presenceRef: ReturnType<typeof createDevicePresence> | undefined;
    const overlay = await startOverlay({
      privateKey,
      hubAddress: registry.hub.tunnelIp,
      bind,
      source: registry,
      logger,
      handshakesAdmitted: udp instanceof UdpIngress && !wsTransport,
      dialTimeoutMs: config.dialTimeoutMs,
      onEvent: (event) => {
        if (event.type === 'handshake-completed') {
          metrics.wgHandshakes.inc();
          // The registry's address for the key, not the WireGuard peer's status (a new object per rekey).
          const address = overlayRef?.peers.tunnelIpOf(event.peer);
          if (address) {
            deviceControlRef?.peerHandshake(address);
            joined?.node.noteHandshake(event.peer, address, Date.now());
            presenceRef?.handshake(address);
          }
        }
      },
      onGone: (tunnelIp) => presenceRef?.changed(tunnelIp),
      ...(deps.statusFlushMs ? { statusFlushMs: deps.statusFlushMs } : {}),
      ...(joined ? { mayResume: (tunnelIp: string) => joined.node.view.holderOf(tunnelIp).kind !== 'node' } : {}),
    });
    cleanups.push(() => overlay.close());
    const reachability = createReachability({ nodeName: config.nodeName, local: overlay, ...(joined ? { view: joined.node.view } : {}) });
    instrumentOverlay(metrics, overlay, bind);
    if (udp instanceof UdpIngress) {
      instrumentUdpIngress(metrics, udp);
      instrumentPeerSockets(metrics, () => udp.stats.peerSockets);
    }
    if (udp instanceof PeerSocketBind) instrumentPeerSockets(metrics, () => udp.peerSockets);
    if (wsTransport) instrumentWsTransport(metrics, wsTransport);

    const { directory, liveDirectory } = createRegistryDirectory(registry, reachability, logger);
    const unsubscribe = registry.onChange((changes) => {
      for (const change of changes) if (change.kind === 'device') directory.invalidate(change.name);
    });
    cleanups.push(unsubscribe);

    // The organisation of the device `serial` at `tunnelIp` as the peer set has it; undefined when
    // the peer set has no such device there (its peer was removed, or the address went to another
    // device): the device row answers then.
    const organizationInPeerSet = (serial: string, tunnelIp: string): string | undefined => {
      const device = overlay.peers.deviceAt(parseIpv4Address(tunnelIp));
      return device?.serial === serial ? (device.organizationId ?? undefined) : undefined;
    };
    const presence = createDevicePresence({
      // In a cluster a device that moved to another node is not offline: it is held there.
      isOnline: (tunnelIp) => reachability.locate(tunnelIp).kind !== 'offline',
      offlineReason: (tunnelIp) => overlay.offlineReason(tunnelIp),
      expiresInMs: (tunnelIp) => {
        const age = overlay.handshakeAgeMs(tunnelIp);
        return age === undefined ? undefined : wgConstants.REJECT_AFTER_TIME_MS - age;
      },
      // From the peer set in memory: a hub taking back 30,000 devices after a restart ran two
      // device queries per device coming online (this lookup and the organisation's), ~1 ms each on PGlite.
      findDevice: async (tunnelIp) => overlay.peers.deviceAt(parseIpv4Address(tunnelIp)),
      onOnline: ({ serial, tunnelIp }) => emitForDevice(serial, 'device.online', {}, organizationInPeerSet(serial, tunnelIp)),
      onOffline: ({ serial, tunnelIp, reason }) => emitForDevice(serial, 'device.offline', { reason }, organizationInPeerSet(serial, tunnelIp)),
    });
    cleanups.push(() => presence.close());
    presenceRef = presence;

    const accessLog: BatchingAccessLog = createBatchingAccessLog({
      // The proxy's entries carry the serial; the registry resolves it to the device row.
      write: (entries) => registry.appendAccessLog(entries),
      counter: metrics.accessLog,
      logger,
    });
    cleanups.push(() => accessLog.close());

    // The control channel with device agents over the overlay: their exposure windows in, each
    // device's access journal (the proxy's entries folded into visits) out.
    // What agents are told: the fleet policy and every live node's endpoint (a getter: read when sent).
    const policy = {
      maxExposureHours: config.maxExposureHours ?? null,
      get endpoints() {
        return joined ? joined.node.liveEndpoints() : [config.wgEndpoint];
      },
    };
    const deviceControl = startDeviceControl({
      netstack: overlay.netstack,
      // Messages to a device go through its holder in a cluster (the cluster dialer exists once attached below).
      ...(joined ? { dial: (tunnelIp: string, port: number, signal: AbortSignal) => (cluster?.dialer ?? overlay.dialer).dial({ tunnelIp, serial: tunnelIp } as DeviceRoute, port, signal) } : {}),
      isDeviceAddress: (address) => overlay.peers.roleOf(parseIpv4Address(address)) === 'device',
      async findDevice(serial) {
        const route = await liveDirectory.findBySerial(serial);
        return route && { tunnelIp: route.tunnelIp, online: route.online };
      },
      registry: {
        reportDeviceExposure: (tunnelIp, until) => registry.reportDeviceExposure(tunnelIp, until),
        async endDeviceExposure(tunnelIp, endedAt) {
          const serial = await registry.endDeviceExposure(tunnelIp, endedAt);
          if (serial) emitForDevice(serial, 'window.ended', { endedAt: endedAt.toISOString() }, organizationInPeerSet(serial, tunnelIp));
          return serial;
        },
        // An installer link's holder has no account: the journal names the link.
        async getUser(id) {
          const linkId = linkIdOf(id);
          if (linkId === undefined) return registry.getUser(id);
          return { email: (await registry.describeDeviceLink(linkId)) ?? 'installer link' };
        },
      },
      policy,
      onDeviceChanged: (serial) => directory.invalidate(serial),
      onVisitStarted(entry) {
        const linkId = linkIdOf(entry.userId);
        void (async () => {
          const email = entry.userId && linkId === undefined ? ((await registry.getUser(entry.userId).catch(() => undefined))?.email ?? null) : null;
          emitForDevice(entry.serial, 'access.started', {
            visitor: { userId: linkId === undefined ? entry.userId : null, email, linkId: linkId ?? null, clientIp: entry.clientIp },
            kind: entry.kind,
            port: entry.port ?? null,
          }, entry.organizationId);
        })();
      },
      logger,
    });
    cleanups.push(() => deviceControl.close());
    overlayRef = overlay;
    deviceControlRef = deviceControl;
    const proxyAccessLog = {
      record(entry: Parameters<BatchingAccessLog['record']>[0]) {
        accessLog.record(entry);
        deviceControl.journal.record(entry);
      },
    };

    // In a cluster a ticket issued here is redeemed wherever the visitor's redirect lands, once:
    // through the database. A single node keeps them in memory.
    const tickets = joined ? createClusterTicketStore(database.db) : createTicketStore();
    // Device sessions live in the database; the proxy reads them through a short-lived cache that
    // the registry empties for sessions it ends (a cluster feed would call invalidate the same way).
    const deviceSessions = createDeviceSessions({
      ttlMs: config.deviceSessionTtlMs,
      store: registrySessionStore(registry),
    });
    cleanups.push(registry.onDeviceSessionsEnded((ended) => deviceSessions.invalidate(ended)));
    /** Devices whose session is on this node now. */
    const localDevices = () =>
      overlay.wireguard.device
        .peers()
        .map((p) => p.allowedIps[0]?.replace(/\/32$/, ''))
        .filter((ip): ip is string => ip !== undefined && overlay.peers.roleOf(parseIpv4Address(ip)) === 'device' && reachability.locate(ip).kind === 'local');
    const cluster =
      joined &&
      attachCluster({
        joined,
        config,
        logger,
        reachability,
        localDialer: overlay.dialer,
        isDeviceAddress: (address) => overlay.peers.roleOf(parseIpv4Address(address)) === 'device',
        localDevices,
        sendControl: (tunnelIp, name, message) => deviceControl.send(tunnelIp, name, message),
        policy: () => policy,
        invalidateDevice: (serial) => directory.invalidate(serial),
        invalidateAllDevices: () => directory.invalidateAll(),
        invalidateSessions: (ended) => deviceSessions.invalidate(ended),
        peersChanged: () => void overlay.peers.catchUp(),
        handshakeAgeMs: (tunnelIp) => overlay.handshakeAgeMs(tunnelIp),
        deliverRelayed: (fromNode, packet) => overlay.router.fromRelay(packet, overlay.wireguard.now(), fromNode),
      });
    if (cluster) {
      cleanups.push(() => cluster.close());
      // Admin peers reach devices held by other nodes through the packet relay (and get their answers).
      overlay.router.relay = cluster.relay;
      instrumentCluster(metrics, { view: joined.node.view, dialer: cluster.dialer, listener: cluster.listener, relay: cluster.relay });
      // The other nodes drop their cached rows and sessions at once (LISTEN/NOTIFY), not after a TTL.
      cleanups.push(registry.onChange((changes) => cluster.publishDevices([...new Set(changes.filter((c) => c.kind === 'device').map((c) => c.name))])));
      cleanups.push(registry.onDeviceSessionsEnded((ended) => cluster.publishSessionsEnded(ended)));
    }
    const portal = new Hono();
    const apiCluster = {
      nodeOf: (tunnelIp: string) => reachability.nodeOf(tunnelIp),
      endpoints: () => policy.endpoints,
      nodes: () => clusterNodes({ config, view: joined?.node.view, localDevices: () => localDevices().length }),
    };
    portal.route('/api/v1', createApiRoutes({ registry, logger, cluster: apiCluster, sharedBudgets: joined !== undefined, webhookSecrets, ...(deps.version ? { version: deps.version } : {}) }));
    portal.route(
      '/',
      createPortalRoutes({
        registry,
        tickets,
        portalOrigin: portalUrl,
        csrfKey,
        cluster: { nodes: () => apiCluster.nodes(), clustered: joined !== undefined },
        deviceDomain: config.domain,
        secure: config.tls,
        logger,
        sso: singleSignOnFromConfig(config, { ctx: registry.context, beginPasswordAttempt: registry.beginPasswordAttempt, logger, portalUrl }),
        ...(deviceHost && singleHostOrigin ? { singleHost: { setting: deviceHost, origin: singleHostOrigin } } : {}),
      }),
    );

    const tlsCredentials =
      config.tls && config.tlsCertFile && config.tlsKeyFile
        ? { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) }
        : undefined;
    const http = createHubHttp({
      config,
      directory: liveDirectory,
      dialer: cluster?.dialer ?? overlay.dialer,
      auth: registryVisitorAuth(registry),
      tickets,
      links: registryInstallerLinks(registry),
      sessions: deviceSessions,
      accessLog: proxyAccessLog,
      portalApp: portal,
      metrics,
      logger,
      readiness: {
        database: async () => {
          await registry.listDevices({ limit: 1 });
        },
        wireguard: () => bind.localPort !== undefined || deps.bind !== undefined,
      },
      ...(tlsCredentials ? { tlsCredentials } : {}),
      ...(wsTransport ? { datagramUpgrade: wsTransport.handleUpgrade } : {}),
      selectionKey,
      portalUrl,
    });

    return {
      config,
      registry,
      database,
      overlay,
      wsTransport,
      http,
      directory: liveDirectory,
      reachability,
      cluster,
      publicKey,
      portalUrl,
      deviceUrl,
      async listen() {
        const bound = await http.listen();
        await cluster?.listen();
        return bound;
      },
      async close() {
        // A cluster node hands its devices to the others while it drains (/readyz 503 at once, so the
        // load balancer stops sending); the tunnels and the internal listener serve them until moved.
        const handing = cluster?.handOver(Math.min(5_000, config.shutdownGraceMs)).catch((err: unknown) => logger.warn('device hand-over failed', { err: String(err) }));
        await http.close();
        await handing;
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
