// The real tunnel: a WireGuard session to the hub (libs/wireguard runner over a UDP bind) carrying
// the agent's userspace TCP stack (libs/netstack) on its tunnel IP. One peer, the hub: allowed IPs
// the hub's tunnel IP /32, persistent keepalive from the registration (keeps NAT mappings open and
// brings the session up at once), handshake timestamps from the agent's monotonic clock. Roaming
// (the NAT changing our port) is handled by WireGuard itself; anything it cannot recover from
// (handshakes given up, the socket failing) is reported as `down` to the supervisor.
import type { Duplex } from 'node:stream';
import { parseIpv4Address } from '@porthole/netstack';
import {
  buildIcmpv4Packet,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REQUEST,
  ICMP_QUOTED_DATA_LEN,
  ICMP_UNREACH_ADMIN_PROHIBITED,
  IP_PROTOCOL_TCP,
  TCP_HEADER_LEN,
  type IcmpDestUnreachableRepr,
  type IcmpEchoRepr,
  type Ipv4Repr,
} from '@porthole/netstack/wire';
import { UdpBind, startWireGuardNode, type Bind, type WireGuardEvent } from '@porthole/wireguard';
import { HubLiveness } from './liveness.js';
import type { Tunnel, TunnelEvent, TunnelFactory, TunnelInfo, TunnelParams } from './tunnel.js';

/** How often a cluster tunnel checks that its hub node still answers. */
const LIVENESS_TICK_MS = 250;

/** What the agent needs from a userspace TCP/IP stack (libs/netstack's createNetstack fits). */
export interface NetstackLike {
  /** An IP packet that arrived through the tunnel. */
  receive(packet: Uint8Array): void;
  /** Accept TCP connections on `port`; ports nobody listens on get RST. */
  listen(port: number, onConnection: (socket: Duplex) => void): unknown;
  /** Opens a TCP connection; emits 'connect' or 'error' (libs/netstack's connect fits). */
  connect(request: { host: string; port: number; timeoutMs?: number; noDelay?: boolean }): Duplex;
  close?(): unknown;
}

/** An accepted overlay connection; libs/netstack's TcpSocket has setNoDelay like net.Socket. */
type OverlaySocket = Duplex & { setNoDelay?(noDelay?: boolean): unknown };

export type NetstackFactory = (options: {
  address: string;
  mtuBytes: number;
  onTransmit: (packet: Uint8Array) => void;
}) => NetstackLike;

export interface WireGuardTunnelOptions {
  createNetstack: NetstackFactory;
  /**
   * Opens the datagram carrier; default a fresh UdpBind on a random port (a new NAT mapping per
   * tunnel). A carrier may watch the device's events (`observe`) and describe itself (`info`).
   */
  openBind?: (onError: (err: Error) => void, params: TunnelParams) => Promise<TunnelBind>;
  mtuBytes?: number;
  /**
   * Liveness probe interval (default: the registration's persistent keepalive). A probe is an ICMP
   * echo to the hub's tunnel IP: unlike a keepalive it is data, so if nothing authenticated comes
   * back within 15 s WireGuard itself starts a new handshake; that is how a restarted hub (which
   * silently drops packets of the session it forgot) gets a new session without waiting for the
   * 120 s rekey. The hub answers a data packet at least with a keepalive, so no false alarms.
   */
  probeIntervalMs?: number;
}

/** A Bind that may also follow the device's events and say which transport it uses (failover-bind.ts). */
export type TunnelBind = Bind & {
  observe?(event: WireGuardEvent): void;
  info?(): NonNullable<TunnelInfo['transport']>;
};

export const TUNNEL_MTU_BYTES = 1420;

const NO_DATA = new Uint8Array(0);

/** An ICMP echo request (RFC 792) from `src` to `dst` in an IPv4 packet (RFC 791). */
export function icmpEchoRequest(src: string, dst: string, id: number, seq: number): Uint8Array {
  const echo: IcmpEchoRepr = { type: ICMP_ECHO_REQUEST, identifier: id & 0xffff, sequence: seq & 0xffff, data: NO_DATA };
  return buildIcmpv4Packet({ srcAddr: parseIpv4Address(src), dstAddr: parseIpv4Address(dst) }, echo);
}

/**
 * "Remote access turned off here": ICMP destination unreachable, code 13 "communication
 * administratively prohibited" (RFC 792, RFC 1812 §5.2.7.1), from the device to the hub's tunnel
 * IP, quoting a minimal hub→device TCP header and 8 zero bytes. WireGuard authenticates the
 * sender, so the hub can trust it.
 */
export function icmpAdminProhibited(src: string, dst: string): Uint8Array {
  const device = parseIpv4Address(src);
  const hub = parseIpv4Address(dst);
  const quoted: Ipv4Repr = { srcAddr: hub, dstAddr: device, protocol: IP_PROTOCOL_TCP, payloadLen: TCP_HEADER_LEN, ttl: 64, ident: 0, dontFragment: false, dscpEcn: 0 };
  const refusal: IcmpDestUnreachableRepr = { type: ICMP_DEST_UNREACHABLE, code: ICMP_UNREACH_ADMIN_PROHIBITED, header: quoted, data: new Uint8Array(ICMP_QUOTED_DATA_LEN) };
  return buildIcmpv4Packet({ srcAddr: device, dstAddr: hub }, refusal);
}

export function createWireGuardTunnelFactory(options: WireGuardTunnelOptions): TunnelFactory {
  const mtuBytes = options.mtuBytes ?? TUNNEL_MTU_BYTES;
  const openBind: NonNullable<WireGuardTunnelOptions['openBind']> = options.openBind ?? ((onError) => UdpBind.open({ host: '0.0.0.0', singlePeer: true, onError }));

  return async (params: TunnelParams): Promise<Tunnel> => {
    const { registration: reg, logger } = params;
    const listeners: Array<(e: TunnelEvent) => void> = [];
    const emit = (e: TunnelEvent): void => {
      for (const l of listeners) l(e);
    };
    let lastHandshakeAtMs: number | undefined;
    let closed = false;

    const bind = await openBind((err) => {
      // Send errors (no route while the network changes) are transient: WireGuard retries.
      logger.debug('udp socket error', { err });
    }, params);
    let netstack: NetstackLike | undefined;
    const onEvent = (event: WireGuardEvent): void => {
      if (closed) return;
      bind.observe?.(event);
      switch (event.type) {
        case 'handshake-completed':
          lastHandshakeAtMs = params.now();
          emit({ type: 'handshake', atMs: lastHandshakeAtMs });
          break;
        case 'handshake-gave-up':
          emit({ type: 'down', reason: `handshake with the hub gave up after ${event.attempts} attempts` });
          break;
        case 'endpoint-changed':
          logger.info('hub endpoint changed', { endpoint: `${event.endpoint.address}:${event.endpoint.port}` });
          break;
        default:
          logger.debug('wireguard event', { event: event.type });
      }
    };
    const node = await startWireGuardNode({
      privateKey: params.privateKey,
      bind,
      tai64n: params.tai64n,
      onPacket: (packet) => netstack?.receive(packet),
      onEvent,
      logger: {
        debug: (m, f) => logger.debug(m, f),
        info: (m, f) => logger.info(m, f),
        warn: (m, f) => logger.warn(m, f),
      },
      mtu: mtuBytes,
    });
    netstack = options.createNetstack({
      address: reg.tunnelIp,
      mtuBytes,
      onTransmit: (packet) => {
        if (!closed) node.send(packet);
      },
    });
    // Adding the peer with persistent keepalive sends a keepalive at once, which starts the handshake.
    // The hub is the only peer and routes the whole overlay: admin peers' packets reach the device
    // from their own tunnel addresses (the hub's router decides who may talk to whom), so the hub
    // peer must be allowed every overlay source, not just the hub's own /32.
    node.device.addPeer({
      publicKey: reg.hub.publicKey,
      allowedIps: [reg.overlayCidr],
      endpoint: { address: params.endpoint.address, port: params.endpoint.port },
      persistentKeepaliveSeconds: reg.persistentKeepalive,
    });

    const probeMs = options.probeIntervalMs ?? reg.persistentKeepalive * 1000;
    let probeSeq = 0;
    const probeId = Math.floor(Math.random() * 0x10000);
    const sendProbe = (): void => {
      if (!closed) node.send(icmpEchoRequest(reg.tunnelIp, reg.hub.tunnelIp, probeId, probeSeq++));
    };
    const probe = probeMs > 0 ? setInterval(sendProbe, probeMs).unref() : undefined;
    // In a cluster a silent node must be left within seconds (liveness.ts), not after WireGuard's
    // 15 s no-reply rule and 90 s of retries: another node with the same key can take the device.
    let silent = false;
    const liveness = params.liveness && new HubLiveness({ startMs: params.now(), beforeFirstAnswer: params.liveness.beforeFirstAnswer });
    const watch = liveness
      ? setInterval(() => {
          if (closed || silent || !params.liveness!.watch()) return;
          const now = params.now();
          const action = liveness.tick(now, node.device.getPeer(reg.hub.publicKey)?.rxBytes ?? 0);
          if (action === 'probe') sendProbe();
          else if (action === 'silent') {
            silent = true;
            emit({ type: 'down', reason: `the hub node at ${params.endpoint.address}:${params.endpoint.port} did not answer for ${Math.round(liveness.silenceMs(now) / 100) / 10} s` });
          }
        }, LIVENESS_TICK_MS).unref()
      : undefined;

    return {
      listen(port, onConnection) {
        netstack!.listen(port, (socket) => {
          // Overlay connections carry request/response traffic (HTTP through the hub, SSH keystrokes).
          // With Nagle a response written in two parts (head, then body) holds the second part until
          // the hub acknowledges the first, and the hub delays that ACK: tens of ms per exchange.
          (socket as OverlaySocket).setNoDelay?.(true);
          onConnection(socket);
        });
      },
      dialHub(port) {
        return new Promise<Duplex>((resolve, reject) => {
          if (closed) return reject(new Error('tunnel closed'));
          const socket = netstack!.connect({ host: reg.hub.tunnelIp, port, timeoutMs: 10_000, noDelay: true });
          socket.once('connect', () => {
            socket.removeListener('error', reject);
            resolve(socket);
          });
          socket.once('error', reject);
        });
      },
      onEvent(listener) {
        listeners.push(listener);
      },
      info(): TunnelInfo {
        const peer = node.device.getPeer(reg.hub.publicKey);
        const ep = peer?.endpoint ?? params.endpoint;
        return {
          lastHandshakeAtMs,
          endpoint: `${ep.address.includes(':') ? `[${ep.address}]` : ep.address}:${ep.port}`,
          rxBytes: peer?.rxBytes ?? 0,
          txBytes: peer?.txBytes ?? 0,
          ...(bind.info ? { transport: bind.info() } : {}),
        };
      },
      async close(closeOptions) {
        if (closed) return;
        clearInterval(probe);
        clearInterval(watch);
        try {
          if (closeOptions?.notifyHub) node.send(icmpAdminProhibited(reg.tunnelIp, reg.hub.tunnelIp));
          // The stack aborts its open connections with RST on close. Those must reach the hub, or its
          // proxy keeps pooled connections to a peer that is gone and a visitor waits out the response
          // timeout. dgram sends to an address finish a tick later: let them leave before closing.
          await netstack?.close?.();
          await new Promise((resolve) => setImmediate(resolve));
        } finally {
          closed = true;
          await node.close();
        }
      },
    };
  };
}
