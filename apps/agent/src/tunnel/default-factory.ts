// The tunnel factory main.ts uses: WireGuard (libs/wireguard) carrying the userspace TCP/IP stack
// (libs/netstack) on the device's tunnel IP, over the failover bind (UDP, SOCKS5 UDP or WebSocket,
// for restrictive networks) when the agent passes its hub URL and network settings, else over plain UDP.
import { createNetstack } from '@porthole/netstack';
import { UdpBind } from '@porthole/wireguard';
import { realTimers, type Timers } from '../timers.js';
import { FailoverBind } from '../transport/failover-bind.js';
import { DEFAULT_NETWORK } from '../transport/network-settings.js';
import type { TunnelFactory } from './tunnel.js';
import { createWireGuardTunnelFactory, type NetstackFactory } from './wireguard-tunnel.js';

export interface DefaultTunnelOptions {
  /** ICMP liveness probe interval (see wireguard-tunnel.ts). */
  probeIntervalMs?: number;
  /** How long a UDP handshake may take before the WebSocket carrier takes over (default 6 s). */
  fallbackAfterMs?: number;
  /** How often UDP is probed while on the WebSocket (default 30 s). */
  udpProbeIntervalMs?: number;
  /** Extra CA for the hub's certificate on the WebSocket carrier (tests; production uses NODE_EXTRA_CA_CERTS). */
  carrierCa?: string | Buffer;
  timers?: Timers;
}

export function createDefaultTunnelFactory(options: DefaultTunnelOptions = {}): TunnelFactory {
  return createWireGuardTunnelFactory({
    ...(options.probeIntervalMs !== undefined ? { probeIntervalMs: options.probeIntervalMs } : {}),
    openBind: (onError, params) =>
      params.hubUrl
        ? FailoverBind.open({
            params,
            hubUrl: params.hubUrl,
            network: params.network ?? DEFAULT_NETWORK,
            timers: options.timers ?? realTimers,
            logger: params.logger,
            ...(options.carrierCa ? { tls: { ca: options.carrierCa } } : {}),
            ...(options.fallbackAfterMs ? { fallbackAfterMs: options.fallbackAfterMs } : {}),
            ...(options.udpProbeIntervalMs ? { probeIntervalMs: options.udpProbeIntervalMs } : {}),
          })
        : UdpBind.open({ host: '0.0.0.0', singlePeer: true, onError }),
    createNetstack: userspaceNetstack,
  });
}

/**
 * How long the agent's TCP holds the ACK of a request, waiting for the reply to carry it: Linux's
 * minimum delayed-ACK time (TCP_DELACK_MIN, 40 ms) instead of the library's 10 ms. A request the
 * device's web UI answers in more than 10 ms (any busy device, or 16 requests at once) otherwise
 * costs a pure ACK datagram through WireGuard on top of the reply.
 */
export const AGENT_ACK_DELAY_MS = 40;

/**
 * libs/netstack as the tunnel's TCP/IP stack, handed over as is: no wrapper call per packet. Its
 * packets come only out of WireGuard, whose AEAD tag already proved every byte: IPv4 and TCP
 * checksums are not summed again on receive (as the hub's overlay does; about 3% of the agent's CPU
 * per small request in a profile at 16 connections).
 */
export const userspaceNetstack: NetstackFactory = ({ address, mtuBytes, onTransmit }) =>
  createNetstack({ address, mtuBytes, onTransmit, verifyChecksums: false, tcp: { ackDelayMs: AGENT_ACK_DELAY_MS } });
