// Is the hub node still answering? In a cluster the agent must notice a dead node within seconds
// (WireGuard alone would wait KEEPALIVE_TIMEOUT + REKEY_TIMEOUT after data, then 90 s of handshake
// retries). Every authenticated packet from the hub counts as an answer (the peer's rx counter
// moves); after `idleProbeMs` without one the tunnel sends a probe (an ICMP echo the hub's stack
// answers at once), and when `silentAfterMs` pass after a probe, or after the tunnel started,
// with nothing received, the node is silent. Pure: time and the counter are passed in.
import { constants } from '@porthole/wireguard';

/**
 * Probe an idle session after this long without an answer (our choice): a dead node is noticed
 * within this plus CLUSTER_SILENT_AFTER_MS (8.3 s), inside the cluster's 15 s target with room for
 * the new handshake and the load balancer; one small packet each way per idle device every 3 s.
 */
export const CLUSTER_IDLE_PROBE_MS = 3_000;
/** No answer this long after a probe or an initiation: the node is gone (WireGuard's REKEY_TIMEOUT, plus the initiation's jitter). */
export const CLUSTER_SILENT_AFTER_MS = constants.REKEY_TIMEOUT_MS + constants.REKEY_TIMEOUT_JITTER_MAX_MS;

export interface LivenessOptions {
  startMs: number;
  idleProbeMs?: number;
  silentAfterMs?: number;
  /** Watch from the start (the handshake itself must be answered); otherwise only after the first answer. */
  beforeFirstAnswer?: boolean;
}

export type LivenessAction = 'probe' | 'silent' | undefined;

export class HubLiveness {
  readonly #idleProbeMs: number;
  readonly #silentAfterMs: number;
  #armed: boolean;
  #lastRx = -1;
  #lastAnswerMs: number;
  /** When the unanswered probe (or the first initiation) left; undefined = none outstanding. */
  #probeSentMs: number | undefined;

  constructor(o: LivenessOptions) {
    this.#idleProbeMs = o.idleProbeMs ?? CLUSTER_IDLE_PROBE_MS;
    this.#silentAfterMs = o.silentAfterMs ?? CLUSTER_SILENT_AFTER_MS;
    this.#armed = o.beforeFirstAnswer ?? false;
    this.#lastAnswerMs = o.startMs;
    // Creating the tunnel sends the first initiation: that is the first question.
    this.#probeSentMs = o.startMs;
  }

  /** `rxBytes`: the hub peer's authenticated bytes received so far. Returns what the tunnel must do now. */
  tick(nowMs: number, rxBytes: number): LivenessAction {
    if (rxBytes !== this.#lastRx) {
      const first = this.#lastRx === -1;
      this.#lastRx = rxBytes;
      if (!first || rxBytes > 0) {
        this.#lastAnswerMs = nowMs;
        this.#probeSentMs = undefined;
        this.#armed = true;
        return undefined;
      }
    }
    if (this.#probeSentMs !== undefined) {
      if (this.#armed && nowMs - this.#probeSentMs >= this.#silentAfterMs) return 'silent';
      return undefined;
    }
    if (nowMs - this.#lastAnswerMs >= this.#idleProbeMs) {
      this.#probeSentMs = nowMs;
      return 'probe';
    }
    return undefined;
  }

  /** Milliseconds since the hub last answered. */
  silenceMs(nowMs: number): number {
    return nowMs - this.#lastAnswerMs;
  }
}
