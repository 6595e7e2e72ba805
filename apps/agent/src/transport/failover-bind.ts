// The Bind the tunnel's WireGuard device uses: a UDP carrier (a plain socket, or SOCKS5 UDP
// ASSOCIATE when a SOCKS5 proxy is set) and the WebSocket carrier, with the transport selector
// choosing which one sends. Both carriers always deliver what they receive, so nothing is lost
// while the hub follows the switch (it answers on whichever carrier last brought an authenticated
// packet). UDP handshake answers also feed a running probe.
import { UdpBind, constants, type Bind, type Endpoint, type WireGuardEvent } from '@porthole/wireguard';
import type { Logger } from '../log/logger.js';
import type { Timers } from '../timers.js';
import type { TunnelParams } from '../tunnel/tunnel.js';
import { describeProxy, type NetworkSettings } from './network-settings.js';
import { createTcpDialer } from './proxy-dialer.js';
import { Socks5UdpBind } from './socks5-udp-bind.js';
import { PROBE_TIMEOUT_MS, TransportSelector, type Carrier, type SelectorStatus } from './transport-selector.js';
import { UdpProbe } from './udp-probe.js';
import { WsClientBind } from './ws-client-bind.js';

export interface TransportInfo {
  carrier: Carrier;
  /** "WireGuard/UDP to 198.18.0.1:51820" or "WireGuard over WebSocket (ws://hub:8080/.porthole/wg) via SOCKS5 proxy …". */
  description: string;
  /** Why this carrier. */
  reason: string;
  selector: SelectorStatus;
  /** Problems of the carriers right now (association or connection failures). */
  problems: string[];
}

export interface FailoverBindOptions {
  params: Pick<TunnelParams, 'privateKey' | 'registration' | 'endpoint' | 'tai64n' | 'now'>;
  hubUrl: URL;
  network: NetworkSettings;
  timers: Timers;
  logger?: Logger;
  /** Extra TLS trust for the carrier (tests). */
  tls?: { ca?: string | Buffer };
  fallbackAfterMs?: number;
  probeIntervalMs?: number;
  onChange?: () => void;
}

const WS_LINGER_MS = 5_000;

export class FailoverBind implements Bind {
  readonly selector: TransportSelector;
  readonly ws: WsClientBind | undefined;
  #udp: Bind | undefined;
  #probe: UdpProbe | undefined;
  #handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  #lingerTimer: unknown;
  #closed = false;

  private constructor(
    private readonly options: FailoverBindOptions,
    udp: Bind | undefined,
  ) {
    const { network, timers, logger } = options;
    this.#udp = udp;
    const proxy = network.proxy;
    this.ws =
      network.transport === 'udp'
        ? undefined
        : new WsClientBind({
            hubUrl: options.hubUrl,
            ...(proxy ? { dialer: createTcpDialer(proxy) } : {}),
            ...(options.tls ? { tls: options.tls } : {}),
            timers,
            ...(logger ? { logger } : {}),
            onStateChange: () => options.onChange?.(),
          });
    this.selector = new TransportSelector({
      mode: network.transport,
      timers,
      switchTo: (carrier) => this.#switchTo(carrier),
      probeUdp: () => this.#runProbe(),
      onChange: (s) => {
        logger?.info('tunnel transport', { carrier: s.carrier, reason: s.reason });
        options.onChange?.();
      },
      ...(options.fallbackAfterMs ? { fallbackAfterMs: options.fallbackAfterMs } : {}),
      ...(options.probeIntervalMs ? { probeIntervalMs: options.probeIntervalMs } : {}),
    });
    if (network.transport === 'websocket') this.ws!.connect();
  }

  static async open(options: FailoverBindOptions): Promise<FailoverBind> {
    const { network, logger } = options;
    let udp: Bind | undefined;
    if (network.transport !== 'websocket') {
      udp =
        network.proxy?.kind === 'socks5'
          ? await Socks5UdpBind.open({ proxy: network.proxy, timers: options.timers, ...(logger ? { logger } : {}), onStateChange: () => options.onChange?.() })
          : await UdpBind.open({ host: '0.0.0.0', singlePeer: true, onError: (err) => logger?.debug('udp socket error', { err }) });
    }
    const bind = new FailoverBind(options, udp);
    udp?.onReceive((datagram, from) => {
      bind.#probe?.receive(datagram);
      // A response while no probe runs answers one of the tunnel's own initiations sent over UDP too.
      if (datagram[0] === constants.MESSAGE_RESPONSE_TYPE && bind.carrier === 'websocket' && !bind.#probe) bind.selector.udpAnswered();
      bind.#handler?.(datagram, from);
    });
    bind.ws?.onReceive((datagram, from) => bind.#handler?.(datagram, from));
    return bind;
  }

  get localPort(): number | undefined {
    return this.#udp?.localPort;
  }

  get carrier(): Carrier {
    return this.selector.status().carrier;
  }

  /** Handshake events of the device on this bind drive the selector. */
  observe(event: WireGuardEvent): void {
    if (event.type === 'handshake-initiated') this.selector.handshakeInitiated();
    else if (event.type === 'handshake-completed') this.selector.handshakeCompleted();
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    if (this.carrier === 'websocket') {
      this.ws?.send(datagram);
      // Initiations also try UDP: the hub answers whichever copy it takes first (the other is a
      // replay it drops), and an answer over UDP means UDP is back (a hub that restarted, a
      // firewall that changed) without waiting for the next probe.
      if (datagram[0] === constants.MESSAGE_INITIATION_TYPE && this.options.network.transport === 'auto') {
        this.#udp?.send(datagram, this.options.params.endpoint);
      }
    }
    // The device's endpoint may have roamed to the carrier's `ws` endpoint: UDP always goes to the hub's UDP endpoint.
    else this.#udp?.send(datagram, to.transport === undefined ? to : this.options.params.endpoint);
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.#handler = handler;
  }

  #switchTo(carrier: Carrier): void {
    this.options.timers.clearTimeout(this.#lingerTimer);
    if (carrier === 'websocket') this.ws?.connect();
    // Datagrams the hub sent before it noticed the switch still arrive on the WebSocket for a moment.
    else this.#lingerTimer = this.options.timers.setTimeout(() => this.ws?.disconnect(), WS_LINGER_MS);
  }

  async #runProbe(): Promise<boolean> {
    const udp = this.#udp;
    if (!udp || this.#closed) return false;
    const { params } = this.options;
    const endpoint = params.endpoint;
    const probe = new UdpProbe({
      privateKey: params.privateKey,
      hubPublicKey: params.registration.hub.publicKey,
      hubTunnelIp: params.registration.hub.tunnelIp,
      deviceTunnelIp: params.registration.tunnelIp,
      tai64n: params.tai64n,
      endpoint,
      send: (datagram) => udp.send(datagram, endpoint),
      now: params.now,
    });
    this.#probe = probe;
    try {
      return await probe.run(PROBE_TIMEOUT_MS);
    } finally {
      if (this.#probe === probe) this.#probe = undefined;
    }
  }

  info(): TransportInfo {
    const s = this.selector.status();
    const { network, params } = this.options;
    const via = network.proxy ? ` via ${describeProxy(network.proxy)}` : '';
    const problems: string[] = [];
    const udp = this.#udp;
    if (udp instanceof Socks5UdpBind && udp.state !== 'associated' && udp.lastError) problems.push(udp.lastError);
    if (this.ws && s.carrier === 'websocket' && this.ws.state === 'down' && this.ws.lastError) problems.push(`WebSocket: ${this.ws.lastError}`);
    const udpVia = network.proxy?.kind === 'socks5' ? ` via ${describeProxy(network.proxy)} (UDP ASSOCIATE)` : '';
    const description =
      s.carrier === 'udp'
        ? `WireGuard/UDP to ${params.endpoint.address}:${params.endpoint.port}${udpVia}`
        : `WireGuard over WebSocket (${this.ws?.url.href ?? '?'})${via}`;
    return { carrier: s.carrier, description, reason: s.reason, selector: s, problems };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.selector.stop();
    this.options.timers.clearTimeout(this.#lingerTimer);
    await Promise.all([this.#udp?.close(), this.ws?.close()]);
  }
}
