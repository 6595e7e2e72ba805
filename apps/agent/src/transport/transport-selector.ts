// Which carrier the tunnel uses, as a small state machine on injected timers: UDP first;
// when a WireGuard handshake over UDP has not completed `fallbackAfterMs` after it started, the
// WebSocket carrier; while there, a UDP probe every `probeIntervalMs` (and every handshake of the
// tunnel itself tried over UDP too), back to UDP as soon as one is answered. Forced modes (`udp`, `websocket`) never switch. Every switch records why.
import type { Timers } from '../timers.js';
import type { TransportMode } from './network-settings.js';

export type Carrier = 'udp' | 'websocket';

/** One retransmission (5 s + jitter) after the first initiation, then give up on UDP. */
export const FALLBACK_AFTER_MS = 6_000;
export const PROBE_INTERVAL_MS = 30_000;
export const PROBE_TIMEOUT_MS = 5_000;

export interface SelectorStatus {
  mode: TransportMode;
  carrier: Carrier;
  /** Why this carrier: shown on the Remote access page. */
  reason: string;
  sinceMs: number;
  /** While on the WebSocket in auto mode: the last UDP probe and when the next one runs. */
  lastProbe: { atMs: number; ok: boolean } | undefined;
  nextProbeAtMs: number | undefined;
  switches: number;
}

export interface TransportSelectorOptions {
  mode: TransportMode;
  timers: Timers;
  /** Switches the carrier (the failover bind connects/disconnects the WebSocket). */
  switchTo: (carrier: Carrier) => void;
  /** Runs one UDP probe; true = UDP works both ways. */
  probeUdp: () => Promise<boolean>;
  onChange?: (status: SelectorStatus) => void;
  fallbackAfterMs?: number;
  probeIntervalMs?: number;
}

export class TransportSelector {
  readonly #o: TransportSelectorOptions;
  #status: SelectorStatus;
  #fallbackTimer: unknown;
  #probeTimer: unknown;
  #probing = false;
  #stopped = false;

  constructor(options: TransportSelectorOptions) {
    this.#o = options;
    const carrier: Carrier = options.mode === 'websocket' ? 'websocket' : 'udp';
    this.#status = {
      mode: options.mode,
      carrier,
      reason: options.mode === 'auto' ? 'UDP is tried first' : `set to ${options.mode === 'udp' ? 'UDP only' : 'WebSocket only'} in the settings`,
      sinceMs: options.timers.now(),
      lastProbe: undefined,
      nextProbeAtMs: undefined,
      switches: 0,
    };
  }

  status(): SelectorStatus {
    return { ...this.#status };
  }

  /** The tunnel's device sent a handshake initiation (first, retry or rekey). */
  handshakeInitiated(): void {
    if (this.#stopped || this.#o.mode !== 'auto' || this.#status.carrier !== 'udp' || this.#fallbackTimer !== undefined) return;
    const wait = this.#o.fallbackAfterMs ?? FALLBACK_AFTER_MS;
    this.#fallbackTimer = this.#o.timers.setTimeout(() => {
      this.#fallbackTimer = undefined;
      if (this.#stopped || this.#status.carrier !== 'udp') return;
      this.#switch('websocket', `no WireGuard handshake over UDP within ${Math.round(wait / 1000)} s`);
      this.#scheduleProbe();
    }, wait);
  }

  /** A handshake completed on the current carrier. */
  handshakeCompleted(): void {
    if (this.#fallbackTimer !== undefined) {
      this.#o.timers.clearTimeout(this.#fallbackTimer);
      this.#fallbackTimer = undefined;
    }
    if (this.#status.carrier === 'udp' && this.#status.reason === 'UDP is tried first') {
      this.#status.reason = 'UDP handshakes complete';
      this.#o.onChange?.(this.status());
    }
  }

  /**
   * A handshake answer arrived over UDP while on the WebSocket (the failover bind sends initiations
   * over both carriers): UDP works both ways again, no need to wait for the next probe.
   */
  udpAnswered(): void {
    if (this.#stopped || this.#o.mode !== 'auto' || this.#status.carrier !== 'websocket') return;
    this.#o.timers.clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    this.#switch('udp', 'a handshake over UDP was answered: back on UDP');
  }

  stop(): void {
    this.#stopped = true;
    this.#o.timers.clearTimeout(this.#fallbackTimer);
    this.#o.timers.clearTimeout(this.#probeTimer);
    this.#fallbackTimer = this.#probeTimer = undefined;
  }

  #switch(carrier: Carrier, reason: string): void {
    Object.assign(this.#status, { carrier, reason, sinceMs: this.#o.timers.now(), switches: this.#status.switches + 1 });
    if (carrier === 'udp') this.#status.nextProbeAtMs = undefined;
    this.#o.switchTo(carrier);
    this.#o.onChange?.(this.status());
  }

  #scheduleProbe(): void {
    if (this.#stopped) return;
    const interval = this.#o.probeIntervalMs ?? PROBE_INTERVAL_MS;
    this.#status.nextProbeAtMs = this.#o.timers.now() + interval;
    this.#probeTimer = this.#o.timers.setTimeout(() => void this.#probe(), interval);
  }

  async #probe(): Promise<void> {
    if (this.#stopped || this.#probing || this.#status.carrier !== 'websocket') return;
    this.#probing = true;
    let ok = false;
    try {
      ok = await this.#o.probeUdp();
    } catch {
      ok = false;
    }
    this.#probing = false;
    if (this.#stopped || this.#status.carrier !== 'websocket') return;
    this.#status.lastProbe = { atMs: this.#o.timers.now(), ok };
    if (ok) this.#switch('udp', 'a UDP probe was answered: back on UDP');
    else {
      this.#scheduleProbe();
      this.#o.onChange?.(this.status());
    }
  }
}
