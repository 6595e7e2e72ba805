// The seam between the agent and the overlay: a Tunnel is one WireGuard session to the hub plus the
// userspace TCP stack on the device's tunnel IP. The agent only listens on overlay ports and watches
// events; the supervisor recreates a tunnel after failures. Real implementation: wireguard-tunnel.ts;
// in-memory fake for tests: testing/fake-tunnel.ts.
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { Registration } from '../registration.js';
import type { NetworkSettings } from '../transport/network-settings.js';

export interface TunnelParams {
  privateKey: Uint8Array;
  registration: Registration;
  /** The hub's UDP endpoint, freshly resolved for this attempt. */
  endpoint: { address: string; port: number };
  /** Handshake timestamp source (monotonic across reboots). */
  tai64n: () => Uint8Array;
  /** The supervisor's clock: event times (`atMs`) are on this clock. */
  now: () => number;
  logger: Logger;
  /** Proxy and transport mode in force for this attempt; absent = direct, auto. */
  network?: NetworkSettings;
  /** The hub's portal URL: the WebSocket carrier lives on its host and port. */
  hubUrl?: URL;
  /**
   * A cluster (liveness.ts): while `watch()` says so (more than one hub node is known), probe an
   * idle session every few seconds and report `down` when the node stops answering, so the
   * supervisor moves to another node. `beforeFirstAnswer`: the handshake itself must be answered
   * within REKEY_TIMEOUT (another node is still untried). Absent or unwatched: a single hub,
   * today's keepalive probe only.
   */
  liveness?: { watch: () => boolean; beforeFirstAnswer: boolean };
}

export type TunnelEvent =
  /** A handshake with the hub completed: the session is fresh. */
  | { type: 'handshake'; atMs: number }
  /** This tunnel instance cannot recover by itself (socket error, handshake gave up). */
  | { type: 'down'; reason: string };

export interface TunnelInfo {
  lastHandshakeAtMs: number | undefined;
  /** Where packets go now ("203.0.113.5:51820"); may change by roaming. */
  endpoint: string;
  rxBytes: number;
  txBytes: number;
  /** Which carrier the datagrams use and why (UDP, SOCKS5 UDP, WebSocket), when the tunnel knows. */
  transport?: { carrier: string; description: string; reason: string; problems: string[] };
}

export interface Tunnel {
  /** Accept overlay TCP connections on `port`; ports never listened on are refused with RST. */
  listen(port: number, onConnection: (socket: Duplex) => void): void;
  /** Opens a TCP connection from the device to `port` on the hub's tunnel address (the control channel). */
  dialHub(port: number): Promise<Duplex>;
  onEvent(listener: (event: TunnelEvent) => void): void;
  info(): TunnelInfo;
  /**
   * Immediate local teardown: sockets and the UDP binding are closed; no network wait. With
   * `notifyHub` (the owner pressed Disable) one last packet tells the hub remote access was turned
   * off here, so its proxy says so at once instead of timing out on a silent peer.
   */
  close(options?: { notifyHub?: boolean }): Promise<void>;
}

export type TunnelFactory = (params: TunnelParams) => Promise<Tunnel>;
