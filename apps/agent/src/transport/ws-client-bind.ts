// The agent's end of the WebSocket carrier (libs/datagram-transport): WireGuard datagrams as binary
// messages on `wss://<hub>/.porthole/wg`, directly or through the configured proxy (HTTP CONNECT or
// SOCKS). Connects on demand, reconnects with backoff while wanted, queues a few datagrams while
// connecting (WireGuard retransmits anything else). Every datagram it delivers comes "from" one
// fixed Endpoint tagged `ws`, which is only informative: the failover bind picks the carrier.
import type { ConnectionOptions } from 'node:tls';
import { MAX_DATAGRAM_BYTES, WG_WEBSOCKET_PATH, WG_WEBSOCKET_PROTOCOL } from '@porthole/datagram-transport';
import type { Bind, Endpoint } from '@porthole/wireguard';
import type WebSocket from 'ws';
import type { Logger } from '../log/logger.js';
import { realTimers, type Timers } from '../timers.js';
import { backoffDelayMs } from '../tunnel/backoff.js';
import { connectionFactory, type TcpDialer } from './proxy-dialer.js';

export type CarrierState = 'idle' | 'connecting' | 'open' | 'down' | 'closed';

export interface WsClientBindOptions {
  /** The hub's portal URL (registration API base): the carrier lives on the same host and port. */
  hubUrl: URL;
  /** Dials through the proxy; undefined = direct. */
  dialer?: TcpDialer;
  tls?: Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized'>;
  logger?: Logger;
  timers?: Timers;
  onStateChange?: (state: CarrierState, error: string | undefined) => void;
}

const QUEUE_LIMIT = 64;
/**
 * Bytes queued on the WebSocket before datagrams are dropped instead: WireGuard over TCP must not
 * hide loss behind an ever-growing buffer (the inner TCP would see only rising delay, not the
 * congestion); ~1 BDP at 100 Mbit/s × 80 ms.
 */
export const MAX_BUFFERED_BYTES = 1 << 20;

/** `https://hub.example.io/` → `wss://hub.example.io/.porthole/wg`. */
export function carrierUrl(hubUrl: URL): URL {
  const u = new URL(WG_WEBSOCKET_PATH, hubUrl);
  u.protocol = hubUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  return u;
}

/**
 * `ws`, loaded when a carrier first connects: with UDP working (most sites) the carrier is never
 * opened, and an idle agent keeps whatever it loads.
 */
let wsModule: Promise<typeof WebSocket> | undefined;
const loadWebSocket = (): Promise<typeof WebSocket> => (wsModule ??= import('ws').then((m) => m.default));

export class WsClientBind implements Bind {
  state: CarrierState = 'idle';
  lastError: string | undefined;
  /** Successful connections so far. */
  connects = 0;
  dropped = 0;
  readonly url: URL;
  readonly #endpoint: Endpoint;
  readonly #timers: Timers;
  #ws: WebSocket | undefined;
  /** True while `ws` is being loaded for the first connection (state is already `connecting`). */
  #loading = false;
  #handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  #queue: Uint8Array[] = [];
  #wanted = false;
  #attempt = 0;
  #timer: unknown;

  constructor(private readonly options: WsClientBindOptions) {
    this.url = carrierUrl(options.hubUrl);
    this.#timers = options.timers ?? realTimers;
    const port = Number(this.url.port) || (this.url.protocol === 'wss:' ? 443 : 80);
    this.#endpoint = { address: this.url.hostname.replace(/^\[|\]$/g, ''), port, transport: 'ws' };
  }

  #setState(state: CarrierState, error?: string): void {
    this.state = state;
    if (error !== undefined || state === 'open') this.lastError = error;
    this.options.onStateChange?.(state, error);
  }

  /** Starts (or keeps) the connection; idempotent. */
  connect(): void {
    if (this.state === 'closed') return;
    this.#wanted = true;
    if (!this.#ws && !this.#loading && this.state !== 'down') this.#open();
  }

  /** Closes the connection and stops reconnecting (the bind can connect again later). */
  disconnect(): void {
    this.#wanted = false;
    this.#timers.clearTimeout(this.#timer);
    this.#queue = [];
    const ws = this.#ws;
    this.#ws = undefined;
    ws?.close(1000, 'back on UDP');
    if (this.state !== 'closed') this.#setState('idle');
  }

  #open(): void {
    this.#setState('connecting');
    this.#loading = true;
    loadWebSocket().then(
      (WebSocket) => {
        this.#loading = false;
        // Disconnected or closed while loading: nothing to open.
        if (this.#wanted && this.state === 'connecting' && !this.#ws) this.#dial(WebSocket);
      },
      (err: Error) => {
        this.#loading = false;
        this.options.logger?.error('websocket carrier unavailable', { err });
        if (this.state !== 'closed') this.#setState('down', `cannot load the WebSocket client: ${err.message}`);
      },
    );
  }

  #dial(WebSocket: typeof import('ws').default): void {
    const secure = this.url.protocol === 'wss:';
    const ws = new WebSocket(this.url, [WG_WEBSOCKET_PROTOCOL], {
      perMessageDeflate: false,
      maxPayload: MAX_DATAGRAM_BYTES,
      handshakeTimeout: 15_000,
      followRedirects: false,
      ...(this.options.tls ?? {}),
      ...(this.options.dialer ? { createConnection: connectionFactory(this.options.dialer, secure, this.options.tls) as never } : {}),
    });
    this.#ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      if (this.#ws !== ws) return;
      this.connects++;
      this.#attempt = 0;
      this.options.logger?.info('websocket carrier open', { url: this.url.href });
      this.#setState('open');
      for (const d of this.#queue.splice(0)) ws.send(d, { binary: true });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.#ws !== ws || !isBinary || data.length > MAX_DATAGRAM_BYTES) return;
      this.#handler?.(data, this.#endpoint);
    });
    let failure: string | undefined;
    ws.on('error', (err: Error) => {
      failure ??= err.message;
    });
    ws.on('close', (code: number) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      if (!this.#wanted || this.state === 'closed') return;
      const reason = failure ?? `closed by the hub (code ${code})`;
      // Capped low: this is the only way in while UDP is blocked, so a hub back from a restart must be found fast.
      const delay = backoffDelayMs(this.#attempt++, this.#timers.random, { baseMs: 1_000, maxMs: 10_000 });
      this.options.logger?.warn('websocket carrier down; reconnecting', { reason, retryInMs: delay });
      this.#setState('down', reason);
      this.#timer = this.#timers.setTimeout(() => {
        if (this.#wanted && this.state === 'down') this.#open();
      }, delay);
    });
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.#handler = handler;
  }

  send(datagram: Uint8Array): void {
    const ws = this.#ws;
    if (ws && ws.readyState === ws.OPEN) {
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) return void this.dropped++;
      return void ws.send(datagram, { binary: true });
    }
    if (this.state === 'connecting' && this.#queue.length < QUEUE_LIMIT) {
      // The device may reuse its buffer after send returns.
      this.#queue.push(Uint8Array.from(datagram));
      return;
    }
    this.dropped++;
  }

  async close(): Promise<void> {
    this.disconnect();
    this.#setState('closed');
  }
}
