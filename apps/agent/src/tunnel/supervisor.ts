// Keeps one tunnel to the hub alive: creates it, watches handshakes, and after any failure (socket
// error, no handshake in time, session gone stale) tears it down and retries with exponential
// backoff and jitter, re-resolving the hub's host name each time (its address may have moved).
// WireGuard roaming and persistent keepalive handle NAT port changes inside one tunnel.
// With a cluster's endpoints (hub-endpoints.ts) a failure moves the tunnel to another node at once,
// without backoff, until every node was tried; the hub's `move` does the same on request.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from '../log/logger.js';
import { parseEndpoint } from '../registration.js';
import type { Timers } from '../timers.js';
import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import type { HubEndpoints } from './hub-endpoints.js';
import type { Tunnel, TunnelFactory, TunnelInfo, TunnelParams } from './tunnel.js';

/** A new tunnel that has not completed a handshake by then is torn down (WireGuard retries every 5 s). */
export const HANDSHAKE_DEADLINE_MS = 30_000;
/** WireGuard rekeys every 120 s while sending (keepalives count); past REJECT_AFTER_TIME the session is dead. */
export const STALE_SESSION_MS = 180_000 + 30_000;
const WATCHDOG_INTERVAL_MS = 10_000;
/**
 * After a `move` the old tunnel stays open this long beside the new one (make before break): the
 * leaving node still finishes the requests it is carrying over it, while new ones reach the node
 * the new handshake went to. The leaving node closes well within this.
 */
export const MOVE_DRAIN_MS = 10_000;

export type SupervisorState = 'stopped' | 'connecting' | 'online' | 'backoff';

export interface SupervisorStatus {
  state: SupervisorState;
  onlineSinceMs: number | undefined;
  lastHandshakeAtMs: number | undefined;
  endpoint: string | undefined;
  attempts: number;
  lastError: string | undefined;
  nextRetryAtMs: number | undefined;
  /** The live tunnel's carrier and why, when it reports one. */
  transport?: TunnelInfo['transport'];
}

export interface SupervisorOptions {
  factory: TunnelFactory;
  /** Everything but the endpoint, taken fresh for each attempt. */
  params: () => Omit<TunnelParams, 'endpoint' | 'now'>;
  timers: Timers;
  logger: Logger;
  /** The cluster's nodes: which one to dial; absent = the registration's `hub.endpoint` alone. */
  endpoints?: () => HubEndpoints | undefined;
  /** Resolves a host name to an address; default DNS lookup (IPv4 first). */
  resolve?: (host: string) => Promise<string>;
  /** Called for each new tunnel before it can handshake: attach listeners here. */
  onTunnel?: (tunnel: Tunnel) => void;
  onChange?: (status: SupervisorStatus) => void;
  backoff?: BackoffOptions;
  handshakeDeadlineMs?: number;
  staleSessionMs?: number;
}

async function defaultResolve(host: string): Promise<string> {
  if (isIP(host)) return host;
  return (await lookup(host, { family: 0, order: 'ipv4first' })).address;
}

export class TunnelSupervisor {
  readonly #o: SupervisorOptions;
  #generation = 0;
  #tunnel: Tunnel | undefined;
  #timer: unknown;
  #watchdog: unknown;
  /** Tunnels replaced by a move, still carrying what was under way (closed after MOVE_DRAIN_MS). */
  readonly #draining = new Map<Tunnel, unknown>();
  #status: SupervisorStatus = {
    state: 'stopped',
    onlineSinceMs: undefined,
    lastHandshakeAtMs: undefined,
    endpoint: undefined,
    attempts: 0,
    lastError: undefined,
    nextRetryAtMs: undefined,
  };

  constructor(options: SupervisorOptions) {
    this.#o = options;
  }

  status(): SupervisorStatus {
    const info = this.#tunnel?.info();
    return { ...this.#status, endpoint: info?.endpoint ?? this.#status.endpoint, ...(info?.transport ? { transport: info.transport } : {}) };
  }

  get tunnel(): Tunnel | undefined {
    return this.#tunnel;
  }

  start(): void {
    if (this.#status.state !== 'stopped') return;
    this.#status.attempts = 0;
    this.#status.lastError = undefined;
    void this.#connect();
    this.#armWatchdog();
  }

  /**
   * The hub's `move` (its node is leaving) or any other reason to dial the endpoints' current node
   * now: the tunnel is replaced at once, same key, new handshake. Nothing happens while stopped.
   */
  reconnectNow(reason: string): void {
    if (this.#status.state === 'stopped') return;
    this.#generation++;
    this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    const t = this.#tunnel;
    this.#tunnel = undefined;
    if (t) this.#drain(t);
    this.#o.logger.info('tunnel moving to another hub node', { reason, endpoint: this.#o.endpoints?.()?.current() });
    this.#status.attempts = 0;
    void this.#connect();
  }

  /** Local teardown, at once: no message to the hub is needed or awaited. */
  /** Stops and closes the tunnel; `notifyHub` is passed on to Tunnel.close. */
  async stop(options: { notifyHub?: boolean } = {}): Promise<void> {
    this.#generation++;
    this.#o.timers.clearTimeout(this.#timer);
    this.#o.timers.clearTimeout(this.#watchdog);
    this.#timer = this.#watchdog = undefined;
    for (const [d, timer] of this.#draining) {
      this.#o.timers.clearTimeout(timer);
      void d.close(options).catch(() => {});
    }
    this.#draining.clear();
    const t = this.#tunnel;
    this.#tunnel = undefined;
    this.#set({ state: 'stopped', onlineSinceMs: undefined, nextRetryAtMs: undefined });
    if (t) await t.close(options).catch(() => {});
  }

  #drain(t: Tunnel): void {
    const timer = this.#o.timers.setTimeout(() => {
      this.#draining.delete(t);
      void t.close().catch(() => {});
    }, MOVE_DRAIN_MS);
    this.#draining.set(t, timer);
  }

  #set(patch: Partial<SupervisorStatus>): void {
    Object.assign(this.#status, patch);
    this.#o.onChange?.(this.status());
  }

  async #connect(): Promise<void> {
    const gen = ++this.#generation;
    const { timers, logger } = this.#o;
    this.#set({ state: 'connecting', onlineSinceMs: undefined, nextRetryAtMs: undefined });
    let tunnel: Tunnel | undefined;
    try {
      const params = this.#o.params();
      const endpoints = this.#o.endpoints?.();
      const endpoint = endpoints?.current() ?? params.registration.hub.endpoint;
      const ep = parseEndpoint(endpoint);
      if (!ep) throw new Error(`hub endpoint "${endpoint}" is not host:port`);
      const address = await (this.#o.resolve ?? defaultResolve)(ep.host);
      if (gen !== this.#generation) return;
      // Watched from the moment a second node is known (the list may arrive after this handshake).
      const liveness = endpoints
        ? { liveness: { watch: () => this.#o.endpoints?.()?.clustered === true, beforeFirstAnswer: endpoints.clustered && endpoints.untriedRemain() } }
        : {};
      tunnel = await this.#o.factory({ ...params, ...liveness, now: timers.now, endpoint: { address, port: ep.port } });
      if (gen !== this.#generation) {
        await tunnel.close();
        return;
      }
      this.#tunnel = tunnel;
      this.#set({ endpoint: `${address}:${ep.port}` });
      this.#o.onTunnel?.(tunnel);
      tunnel.onEvent((event) => {
        if (gen !== this.#generation) return;
        if (event.type === 'handshake') {
          this.#o.endpoints?.()?.succeeded();
          const first = this.#status.state !== 'online';
          this.#set({
            state: 'online',
            lastHandshakeAtMs: event.atMs,
            onlineSinceMs: first ? timers.now() : this.#status.onlineSinceMs,
            attempts: 0,
            lastError: undefined,
          });
          if (first) logger.info('tunnel online', { endpoint: this.#status.endpoint });
        } else this.#fail(gen, event.reason);
      });
    } catch (err) {
      if (tunnel) await tunnel.close().catch(() => {});
      this.#fail(gen, (err as Error).message);
      return;
    }
    // The deadline counts from tunnel creation; a handshake event cancels it by changing state.
    const createdAt = timers.now();
    const deadline = this.#o.handshakeDeadlineMs ?? HANDSHAKE_DEADLINE_MS;
    this.#timer = timers.setTimeout(() => {
      if (gen === this.#generation && this.#status.state === 'connecting') {
        this.#fail(gen, `no handshake with the hub within ${Math.round((timers.now() - createdAt) / 1000)} s`);
      }
    }, deadline);
  }

  #fail(gen: number, reason: string): void {
    if (gen !== this.#generation) return;
    this.#generation++;
    const { timers, logger } = this.#o;
    timers.clearTimeout(this.#timer);
    const t = this.#tunnel;
    this.#tunnel = undefined;
    if (t) void t.close().catch(() => {});
    // Another node of the cluster may answer: go there now, same key, new handshake.
    const endpoints = this.#o.endpoints?.();
    const next = endpoints?.clustered ? endpoints.failover() : undefined;
    if (next !== undefined) {
      logger.warn('tunnel down; moving to another hub node', { reason, endpoint: next });
      this.#set({ state: 'connecting', onlineSinceMs: undefined, lastError: reason, nextRetryAtMs: undefined });
      void this.#connect();
      return;
    }
    const delay = backoffDelayMs(this.#status.attempts, timers.random, this.#o.backoff);
    logger.warn('tunnel down; reconnecting', { reason, attempt: this.#status.attempts + 1, retryInMs: delay });
    this.#set({
      state: 'backoff',
      onlineSinceMs: undefined,
      attempts: this.#status.attempts + 1,
      lastError: reason,
      nextRetryAtMs: timers.now() + delay,
    });
    this.#timer = timers.setTimeout(() => void this.#connect(), delay);
  }

  #armWatchdog(): void {
    const { timers } = this.#o;
    this.#watchdog = timers.setTimeout(() => {
      const s = this.#status;
      const stale = this.#o.staleSessionMs ?? STALE_SESSION_MS;
      if (s.state === 'online' && s.lastHandshakeAtMs !== undefined && timers.now() - s.lastHandshakeAtMs > stale) {
        this.#fail(this.#generation, `no handshake for ${Math.round((timers.now() - s.lastHandshakeAtMs) / 1000)} s`);
      }
      if (s.state !== 'stopped') this.#armWatchdog();
    }, WATCHDOG_INTERVAL_MS);
  }
}
