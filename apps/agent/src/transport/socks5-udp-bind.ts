// WireGuard's UDP through a SOCKS5 proxy (RFC 1928 §7 UDP ASSOCIATE, RFC 1929 username/password):
// a TCP control connection asks the proxy for a UDP relay and must stay open for the association to
// live; every datagram to and from the relay carries the SOCKS5 UDP header. When the control
// connection drops, the bind associates again with backoff; the WireGuard device above never notices
// beyond a few lost datagrams. Datagrams not from the relay, or malformed, are dropped and counted.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { emitSocks5Udp, emitSocks5UdpHeader, parseSocks5Udp } from '@porthole/datagram-transport';
import type { Bind, Endpoint } from '@porthole/wireguard';
import type { SocksClient, SocksClientOptions } from 'socks';
import type { Logger } from '../log/logger.js';
import { realTimers, type Timers } from '../timers.js';
import { backoffDelayMs } from '../tunnel/backoff.js';
import type { ProxySettings } from './network-settings.js';

type SocksClientEstablishedEvent = Awaited<ReturnType<typeof SocksClient.createConnection>>;

/** SocksClient.createConnection only does CONNECT; ASSOCIATE needs the event API. */
async function associate(options: SocksClientOptions): Promise<SocksClientEstablishedEvent> {
  // Loaded on first use: most agents have no SOCKS proxy, and an idle agent keeps what it loads.
  const { SocksClient } = await import('socks');
  return new Promise((resolve, reject) => {
    const client = new SocksClient(options);
    client.once('established', (info: SocksClientEstablishedEvent) => {
      client.removeAllListeners();
      resolve(info);
    });
    client.once('error', (err: Error) => {
      client.removeAllListeners();
      reject(err);
    });
    client.connect();
  });
}

export type AssociationState = 'associating' | 'associated' | 'down' | 'closed';

export interface Socks5UdpBindOptions {
  proxy: ProxySettings;
  logger?: Logger;
  timers?: Timers;
  timeoutMs?: number;
  onStateChange?: (state: AssociationState, error: string | undefined) => void;
}

export class Socks5UdpBind implements Bind {
  readonly drops: Record<'not-associated' | 'not-from-relay' | 'malformed', number> = { 'not-associated': 0, 'not-from-relay': 0, malformed: 0 };
  state: AssociationState = 'associating';
  lastError: string | undefined;
  /** Completed associations (1 after the first; more after re-associating). */
  associations = 0;
  #relay: { address: string; port: number } | undefined;
  #control: Socket | undefined;
  #handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  #headers = new Map<string, Uint8Array>();
  #endpoints = new Map<string, Endpoint>();
  #attempt = 0;
  #timer: unknown;
  readonly #timers: Timers;

  private constructor(
    private readonly udp: UdpSocket,
    private readonly options: Socks5UdpBindOptions,
  ) {
    this.#timers = options.timers ?? realTimers;
  }

  /** Binds the local UDP socket and starts associating; resolves before the association completes. */
  static async open(options: Socks5UdpBindOptions): Promise<Socks5UdpBind> {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '0.0.0.0', () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const bind = new Socks5UdpBind(udp, options);
    udp.on('error', (err) => options.logger?.debug('socks udp socket error', { err }));
    udp.on('message', (msg, rinfo) => bind.#onMessage(msg, rinfo.address, rinfo.port));
    void bind.#associate();
    return bind;
  }

  get localPort(): number {
    return this.udp.address().port;
  }

  /** The relay's address while associated ("198.18.2.1:40123"). */
  get relay(): string | undefined {
    return this.#relay && `${this.#relay.address}:${this.#relay.port}`;
  }

  #setState(state: AssociationState, error?: string): void {
    this.state = state;
    this.lastError = error;
    this.options.onStateChange?.(state, error);
  }

  async #associate(): Promise<void> {
    if (this.state === 'closed') return;
    const { proxy, logger } = this.options;
    this.#setState('associating');
    try {
      const { socket, remoteHost } = await associate({
        proxy: {
          host: proxy.host,
          port: proxy.port,
          type: 5,
          ...(proxy.username !== undefined ? { userId: proxy.username } : {}),
          ...(proxy.password !== undefined ? { password: proxy.password } : {}),
        },
        command: 'associate',
        // DST.PORT = our UDP port (0.0.0.0: the proxy takes our address from the control connection).
        destination: { host: '0.0.0.0', port: this.localPort },
        timeout: this.options.timeoutMs ?? 15_000,
      });
      if ((this.state as AssociationState) === 'closed') return void socket.destroy();
      let relayAddress = remoteHost?.host ?? '0.0.0.0';
      // An unspecified BND.ADDR means "the proxy's own address" (RFC 1928 leaves it to the server).
      if (relayAddress === '0.0.0.0' || relayAddress === '::') relayAddress = isIP(proxy.host) ? proxy.host : (await lookup(proxy.host, { family: 4 })).address;
      this.#relay = { address: relayAddress, port: remoteHost?.port ?? 0 };
      this.#control = socket;
      socket.setKeepAlive(true, 15_000);
      socket.on('error', () => {});
      // RFC 1928 §7: the association ends with the TCP connection; any data on it is unexpected.
      socket.on('data', () => {});
      socket.once('close', () => this.#lost('the proxy closed the UDP ASSOCIATE control connection'));
      this.#attempt = 0;
      this.associations++;
      logger?.info('socks5 udp associated', { relay: this.relay, proxy: `${proxy.host}:${proxy.port}` });
      this.#setState('associated');
    } catch (err) {
      this.#lost(`SOCKS5 UDP ASSOCIATE failed: ${(err as Error).message}`);
    }
  }

  #lost(reason: string): void {
    if (this.state === 'closed') return;
    this.#relay = undefined;
    this.#control?.destroy();
    this.#control = undefined;
    const delay = backoffDelayMs(this.#attempt++, this.#timers.random, { baseMs: 1_000, maxMs: 30_000 });
    this.options.logger?.warn('socks5 udp association down; retrying', { reason, retryInMs: delay });
    this.#setState('down', reason);
    this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => void this.#associate(), delay);
  }

  #onMessage(msg: Buffer, address: string, port: number): void {
    const relay = this.#relay;
    if (!relay || address !== relay.address || port !== relay.port) {
      this.drops['not-from-relay']++;
      return;
    }
    const parsed = parseSocks5Udp(msg);
    if (!parsed.ok) {
      this.drops.malformed++;
      return;
    }
    const key = `${parsed.address}|${parsed.port}`;
    let from = this.#endpoints.get(key);
    if (!from) {
      if (this.#endpoints.size > 16) this.#endpoints.clear();
      from = { address: parsed.address, port: parsed.port };
      this.#endpoints.set(key, from);
    }
    this.#handler?.(parsed.payload, from);
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.#handler = handler;
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    const relay = this.#relay;
    if (!relay) {
      this.drops['not-associated']++;
      return;
    }
    const key = `${to.address}|${to.port}`;
    let header = this.#headers.get(key);
    if (!header) {
      if (this.#headers.size > 16) this.#headers.clear();
      header = emitSocks5UdpHeader(to.address, to.port);
      this.#headers.set(key, header);
    }
    this.udp.send(emitSocks5Udp(to.address, to.port, datagram, header), relay.port, relay.address);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.#setState('closed');
    this.#timers.clearTimeout(this.#timer);
    this.#control?.destroy();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
  }
}
