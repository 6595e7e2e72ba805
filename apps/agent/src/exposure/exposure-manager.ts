// Owns the exposure window while remote access is on: sets it on Enable (within the fleet maximum),
// keeps it in the state file, ends it by a local timer (also right at start when it passed while
// the device was off: no hub needed), tells the hub over the control channel when the tunnel comes
// up and just before the window closes, and applies the fleet policy the hub sends.
import type { AgentReport, HubPolicy } from '@porthole/device-control';
import type { ControlLink } from '../control/control-link.js';
import type { Logger } from '../log/logger.js';
import type { StateStore } from '../state/state-store.js';
import type { Timers } from '../timers.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { AGENT_VERSION } from '../version.js';
import { WindowTimer, allowedWindows, windowEnd } from './exposure-window.js';

export interface ExposureStatus {
  /** End of the current window (ms); null = until turned off; undefined = no window (remote access off). */
  untilMs: number | null | undefined;
  /** When the last window ended, until the next Enable. */
  endedAtMs: number | undefined;
  /** The fleet maximum in hours (null = none; undefined = not heard from the hub yet). */
  maxHours: number | null | undefined;
  /** What Enable offers now (hours; null = until I turn it off). */
  choices: (number | null)[];
}

export interface ExposureManagerOptions {
  store: StateStore;
  timers: Timers;
  logger: Logger;
  control: ControlLink;
  /** The live tunnel, when online. */
  onlineTunnel(): Tunnel | undefined;
  /** Closes remote access (the agent's Disable path) once the window has ended. */
  closeAccess(): Promise<void>;
  notify(): void;
}

const REPORT_RETRY_MS = 10_000;
const REPORT_ATTEMPTS = 5;

export class ExposureManager {
  readonly #o: ExposureManagerOptions;
  readonly #timer: WindowTimer;
  #reportTimer: unknown;
  #reportGeneration = 0;

  constructor(options: ExposureManagerOptions) {
    this.#o = options;
    this.#timer = new WindowTimer(options.timers, (until) => void this.#end(until));
  }

  status(): ExposureStatus {
    const s = this.#o.store.state;
    const maxHours = s.policy?.maxExposureHours;
    return {
      untilMs: s.exposure ? (s.exposure.until === null ? null : Date.parse(s.exposure.until)) : undefined,
      endedAtMs: s.exposureEndedAt ? Date.parse(s.exposureEndedAt) : undefined,
      maxHours,
      choices: allowedWindows(maxHours),
    };
  }

  /** Enable pressed with `hours` (null = until turned off): the window starts now. */
  begin(hours: number | null): void {
    const now = this.#o.timers.now();
    const until = windowEnd(now, hours, this.#o.store.state.policy?.maxExposureHours);
    this.#o.store.update((s) => {
      s.exposure = { until: until === null ? null : new Date(until).toISOString(), setAt: new Date(now).toISOString() };
      delete s.exposureEndedAt;
    });
    this.#arm();
    this.#o.logger.info('exposure window set', { until: until === null ? 'until turned off' : new Date(until).toISOString() });
    if (this.#o.onlineTunnel()) this.reportNow();
  }

  /** Disable: no window any more. */
  clear(): void {
    this.#timer.disarm();
    this.#cancelReports();
    if (this.#o.store.state.exposure) {
      this.#o.store.update((s) => {
        delete s.exposure;
      });
    }
  }

  /**
   * At start, with remote access on: a window that passed while the agent was down ends now
   * (returns true: stay off); a running one is re-armed. State from before windows existed has
   * none: "until turned off".
   */
  resume(): boolean {
    const until = this.status().untilMs;
    if (typeof until === 'number' && until <= this.#o.timers.now()) {
      this.#record(until);
      this.#o.logger.info('exposure window ended while the agent was down; remote access stays off', { endedAt: new Date(until).toISOString() });
      return true;
    }
    this.#arm();
    return false;
  }

  /** The tunnel came (back) up: tell the hub the window; its answer carries the fleet policy. */
  reportNow(): void {
    this.#cancelReports();
    const gen = this.#reportGeneration;
    const attempt = async (n: number): Promise<void> => {
      const tunnel = this.#o.onlineTunnel();
      if (!tunnel || gen !== this.#reportGeneration) return;
      const until = this.status().untilMs;
      const report: AgentReport = { agentVersion: AGENT_VERSION, exposure: { until: typeof until === 'number' ? new Date(until).toISOString() : null } };
      try {
        const policy = await this.#o.control.report(tunnel, report);
        if (gen === this.#reportGeneration) this.applyPolicy(policy);
      } catch (err) {
        if (gen !== this.#reportGeneration) return;
        this.#o.logger.warn('control report to the hub failed', { err, attempt: n + 1 });
        if (n + 1 < REPORT_ATTEMPTS) this.#reportTimer = this.#o.timers.setTimeout(() => void attempt(n + 1), REPORT_RETRY_MS);
      }
    };
    void attempt(0);
  }

  /** The hub's fleet policy: remembered, and a longer window than it allows is shortened now. */
  applyPolicy(policy: HubPolicy): void {
    const s = this.#o.store.state;
    const now = this.#o.timers.now();
    const max = policy.maxExposureHours;
    const until = this.status().untilMs;
    const limit = max === null ? undefined : now + max * 3_600_000;
    const shorten = s.exposure !== undefined && limit !== undefined && (until === null || (typeof until === 'number' && until > limit));
    if (s.policy?.maxExposureHours === max && !shorten) return;
    this.#o.store.update((d) => {
      d.policy = { maxExposureHours: max, learnedAt: new Date(now).toISOString() };
      if (shorten && d.exposure) d.exposure.until = new Date(limit!).toISOString();
    });
    if (shorten) {
      this.#o.logger.warn('exposure window shortened to the fleet maximum', { maxHours: max, until: new Date(limit!).toISOString() });
      this.#arm();
      this.reportNow();
    }
    this.#o.notify();
  }

  close(): void {
    this.#timer.disarm();
    this.#cancelReports();
  }

  #arm(): void {
    const until = this.status().untilMs;
    if (typeof until === 'number') this.#timer.arm(until);
    else this.#timer.disarm();
  }

  #cancelReports(): void {
    this.#reportGeneration++;
    this.#o.timers.clearTimeout(this.#reportTimer);
  }

  #record(untilMs: number): void {
    this.#o.store.update((s) => {
      s.enabled = false;
      delete s.exposure;
      s.exposureEndedAt = new Date(untilMs).toISOString();
    });
  }

  async #end(untilMs: number): Promise<void> {
    this.#cancelReports();
    const tunnel = this.#o.onlineTunnel();
    this.#o.logger.info('exposure window ended; closing remote access', { endedAt: new Date(untilMs).toISOString() });
    // Best effort and short: the hub also knows `until` from the report, and must not delay the close.
    if (tunnel) await this.#o.control.windowEnded(tunnel, new Date(untilMs)).catch((err: unknown) => this.#o.logger.warn('could not tell the hub the window ended', { err }));
    this.#record(untilMs);
    await this.#o.closeAccess();
  }
}
